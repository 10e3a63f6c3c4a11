using System.Globalization;
using IoTPE.Client.Tests.Infrastructure;
using IoTPE.Mqtt;

namespace IoTPE.Client.Tests;

/// <summary>
/// SIGKILL of the client process (publishing, then consuming) and of the broker, mid-stream, checked with sequence
/// numbers: nothing lost, and — QoS 2 — nothing handed to a handler twice except the one message a kill can catch
/// between a handler's success and its commit, which the next run marks as a redelivery.
/// </summary>
public sealed class CrashTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The number of the message published after all others to show that nothing else is on its way.</summary>
    private const int Sentinel = 999_999;

    public static TheoryData<string, MqttProtocolVersion> Brokers() => new()
    {
        { "iotpe", MqttProtocolVersion.V500 },
        { "mosquitto", MqttProtocolVersion.V311 },
    };

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task Killing_the_publishing_process_loses_nothing_and_sends_nothing_twice(string brokerName, MqttProtocolVersion version)
    {
        await using TestBroker broker = brokerName == "iotpe" ? await IotpeBroker.StartAsync() : await MosquittoBroker.StartAsync();
        await using var clients = new TestClients();
        string topic = $"crash/publisher/{Guid.NewGuid():N}";
        MessageLog log = await clients.SubscribeAsync(broker, topic, version);

        string publisherId = TestClients.NewClientId("crash-pub");
        string[] common = [Port(broker), Version(version), clients.StatePath(publisherId), publisherId, topic];
        var acked = new List<int>();
        var ackedInFirstRun = new List<int>();

        // The first run publishes 1,000 messages at once and SIGKILLs itself after 60 acknowledgements, however fast
        // the broker is: hundreds are committed and left to the next runs. The second one publishes ten every 10 ms
        // and the test kills it at some point while it publishes.
        using (CrashHelperRun run = CrashHelperRun.Start(["publish", .. common, "1", "1000", "1000", "60"]))
        {
            Assert.True(await run.WaitForExitAsync(Timeout));
            ackedInFirstRun.AddRange(run.Numbers("acked"));
            acked.AddRange(ackedInFirstRun);
        }

        using (CrashHelperRun run = CrashHelperRun.Start(["publish", .. common, "5001", "5400", "10"]))
        {
            await run.WaitForAsync(lines => lines.Count(l => l.StartsWith("acked ", StringComparison.Ordinal)) >= 250, Timeout, "250 acknowledgements");
            await run.KillAsync();
            acked.AddRange(run.Numbers("acked"));
        }

        using (CrashHelperRun final = CrashHelperRun.Start(["publish", .. common, "100001", "100020", "10"]))
        {
            await final.WaitForAsync(lines => lines.Contains("done"), Timeout, "done");
        }

        // The final run's messages went out after everything the publisher had and arrive in order (QoS 2): once
        // they are here, so is anything sent twice.
        Assert.True(await log.WaitUntilAsync(m => Received(m).Count(n => n > 100000) == 20, Timeout), $"received {log.Count}");
        IReadOnlyList<int> received = log.Numbers;
        Assert.Equal(received.Count, received.Distinct().Count()); // Nothing twice (QoS 2 end to end).
        Assert.True(acked.ToHashSet().IsSubsetOf(received), $"acknowledged but never received: {string.Join(",", acked.Except(received))}; received {string.Join(",", received)}"); // Every acknowledged message arrived.
        // Messages committed but not yet acknowledged when the first run was killed were sent by the next runs.
        Assert.True(received.Count(n => n <= 1000) >= 2 * ackedInFirstRun.Count, $"{received.Count(n => n <= 1000)} messages of the first run arrived, {ackedInFirstRun.Count} were acknowledged to it");
        foreach ((int first, int last) in ((int, int)[])[(1, 1000), (5001, 5400), (100001, 100020)])
        {
            // The killed runs committed a prefix of their numbers (in order); all of it arrived, nothing else.
            var series = received.Where(n => n >= first && n <= last).Order().ToList();
            Assert.Equal(Enumerable.Range(first, series.Count), series);
        }

    }

    /// <summary>
    /// The resume-after-crash pattern of the README: a publisher with 1,000 publishes in flight, each with a message
    /// identity, is SIGKILLed at random points and restarted from the first message whose Stored it had not seen (and
    /// some before it); the state file recognises what it holds, so the subscriber gets every message exactly once.
    /// </summary>
    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task A_publisher_killed_with_1000_in_flight_and_resumed_with_message_ids_delivers_each_message_once(string brokerName, MqttProtocolVersion version)
    {
        const int count = 5000;
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        await using TestBroker broker = brokerName == "iotpe" ? await IotpeBroker.StartAsync() : await MosquittoBroker.StartAsync();
        await using var clients = new TestClients();
        string topic = $"crash/resume/{Guid.NewGuid():N}";
        MessageLog log = await clients.SubscribeAsync(broker, topic, version);

        string publisherId = TestClients.NewClientId("resume-pub");
        string[] common = [Port(broker), Version(version), clients.StatePath(publisherId), publisherId, topic];
        var runs = new List<IReadOnlyList<string>>();
        int from = 1;
        for (int kill = 0; kill < 4; kill++)
        {
            int killAfter = random.Next(1, 2000); // "stored" lines of this run: within the first burst of 1,000 or later.
            using CrashHelperRun run = CrashHelperRun.Start(["resume", .. common, Number(from), Number(count), "1000"]);
            await run.WaitForAsync(lines => lines.Count(l => l.StartsWith("stored ", StringComparison.Ordinal)) >= killAfter || lines.Contains("done"), Timeout, $"{killAfter} stored (seed {seed})");
            await run.KillAsync();
            runs.Add(run.Lines);

            // The application's checkpoint: the first message it did not see stored; it resumes there, or a little
            // earlier (a checkpoint written now and then).
            HashSet<int> seenStored = runs.SelectMany(lines => Field(lines, "stored")).ToHashSet();
            int firstUnseen = Enumerable.Range(1, count + 1).First(n => !seenStored.Contains(n));
            from = Math.Clamp(firstUnseen - random.Next(0, 300), 1, count);
        }

        using (CrashHelperRun final = CrashHelperRun.Start(["resume", .. common, Number(from), Number(count), "1000"]))
        {
            await final.WaitForAsync(lines => lines.Contains("done"), Timeout, $"done (seed {seed})");
            runs.Add(final.Lines);
        }

        // The marker "0" went out after everything else the publisher had: once it is here, so is the rest.
        Assert.True(await log.WaitUntilAsync(m => Received(m).Contains(0), Timeout), $"no marker; received {log.Count} (seed {seed})");
        var received = log.Numbers.Where(n => n != 0).ToList();
        var duplicates = received.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var lost = Enumerable.Range(1, count).Except(received).ToList();
        Assert.True(duplicates.Count == 0, $"{duplicates.Count} duplicates, e.g. {string.Join(",", duplicates.Take(20))} (seed {seed})");
        Assert.True(lost.Count == 0, $"{lost.Count} lost, e.g. {string.Join(",", lost.Take(20))} (seed {seed})");

        // Each identity was stored by one run only; the killed runs did store some (they were killed mid-stream), and
        // the later runs met identities already stored or delivered.
        var storedNow = runs.SelectMany(lines => lines.Where(l => l.StartsWith("stored ", StringComparison.Ordinal) && l.EndsWith(" S", StringComparison.Ordinal))).Select(l => int.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(storedNow.Count, storedNow.Distinct().Count());
        Assert.True(runs.Take(4).Count(lines => !lines.Contains("done") && Field(lines, "stored").Any()) >= 2, $"the kills came mid-stream (seed {seed})");
        Assert.Contains(runs.Skip(1).SelectMany(lines => lines), l => l.StartsWith("stored ", StringComparison.Ordinal) && !l.EndsWith(" S", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Brokers))]
    public async Task Killing_the_consuming_process_hands_each_message_over_once(string brokerName, MqttProtocolVersion version)
    {
        const int count = 300;
        await using TestBroker broker = brokerName == "iotpe" ? await IotpeBroker.StartAsync() : await MosquittoBroker.StartAsync();
        await using var clients = new TestClients();
        string topic = $"crash/consumer/{Guid.NewGuid():N}";
        string consumerId = TestClients.NewClientId("crash-con");
        string[] arguments = ["consume", Port(broker), Version(version), clients.StatePath(consumerId), consumerId, topic];
        var runs = new List<IReadOnlyList<string>>();

        CrashHelperRun run = CrashHelperRun.Start(arguments);
        try
        {
            await run.WaitForAsync(lines => lines.Contains("subscribed"), Timeout, "subscribed");
            MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub"), version));
            Task<Task[]> publishing = PublishPacedAsync(publisher, topic, count);

            foreach (int killAt in (int[])[count / 4, count / 2])
            {
                await run.WaitForAsync(lines => Handled(runs, lines).Count >= killAt, Timeout, $"{killAt} messages handled");
                await run.KillAsync();
                runs.Add(run.Lines);
                run.Dispose();
                run = CrashHelperRun.Start(arguments);
            }

            await run.WaitForAsync(lines => Handled(runs, lines).Count == count, Timeout, "every message handled");
            await Task.WhenAll(await publishing).WaitAsync(Timeout);

            // A sentinel behind every message: the consumer hands messages over one at a time, in order, so a wrong
            // second hand-over (of a message the broker resent or the state file kept) comes before it.
            await publisher.PublishAsync(topic, Number(Sentinel)).WaitAsync(Timeout);
            await run.WaitForAsync(lines => Handled([], lines).Contains(Sentinel), Timeout, "the sentinel handled");
            runs.Add(run.Lines);
        }
        finally
        {
            run.Dispose(); // Kills it if it still runs (also when the test failed).
        }

        var handovers = runs
            .SelectMany((lines, index) => lines.Where(l => l.StartsWith("handled ", StringComparison.Ordinal)).Select(l => (Run: index, Line: l, Fields: l.Split(' '))))
            .Select(h => (h.Run, h.Line, Number: int.Parse(h.Fields[1], CultureInfo.InvariantCulture), Attempt: int.Parse(h.Fields[2], CultureInfo.InvariantCulture), Redelivery: h.Fields[3] == "1"))
            .Where(h => h.Number != Sentinel)
            .ToList();
        string transcript = string.Join("\n", runs.Select((lines, index) => $"run {index}: {string.Join(" | ", lines)}"));
        var missing = Enumerable.Range(1, count).Except(handovers.Select(h => h.Number)).ToList();
        Assert.True(missing.Count == 0, $"never handed over: {string.Join(",", missing)}\n{transcript}");

        // A hand-over not marked as a redelivery happens at most once per message. (None at all if a kill came after
        // the attempt was recorded and before the handler wrote its line: the next run marks it as a redelivery.)
        Assert.All(handovers.Where(h => !h.Redelivery).GroupBy(h => h.Number), g => Assert.Single(g));

        // A second hand-over is only possible for the message a kill caught between its handler's success and the
        // commit that ends it: the last message handed over by a killed run (events are handled one at a time).
        foreach (var group in handovers.GroupBy(h => h.Number).Where(g => g.Count() > 1))
        {
            var first = group.First();
            string lastOfItsRun = runs[first.Run].Last(l => l.StartsWith("handled ", StringComparison.Ordinal));
            Assert.True(first.Run < runs.Count - 1 && first.Line == lastOfItsRun, $"message {group.Key} handed over twice: {string.Join(" / ", group.Select(g => $"run {g.Run}: {g.Line}"))}");
            Assert.Equal(2, group.Count());
            Assert.True(group.Last().Redelivery);
        }

        Assert.True(handovers.Count - count <= runs.Count - 1, "at most one second hand-over per kill");
    }

    [Fact]
    public async Task Killing_the_broker_mid_stream_loses_nothing_and_hands_nothing_over_twice()
    {
        const int count = 300;
        await using IotpeBroker broker = await IotpeBroker.StartAsync();
        await using var clients = new TestClients();
        var log = new MessageLog();
        MqttClient subscriber = clients.Create(clients.Options(broker, TestClients.NewClientId("sub"), MqttProtocolVersion.V311));
        Task subscribed = subscriber.SubscribeAsync("crash/broker/t", log.Handler);
        await subscriber.StartAsync();
        await subscribed.WaitAsync(Timeout);
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub")));

        var publisherConnection = new ConnectionLog(publisher);

        Task<Task[]> publishing = PublishPacedAsync(publisher, "crash/broker/t", count);
        Assert.True(await log.WaitForCountAsync(count / 4, Timeout));
        broker.Kill(); // Publishing goes on meanwhile: accepted offline, sent after the restart.
        int receivedAtKill = log.Count;
        await publisherConnection.WaitForFailuresAsync(2, Timeout); // The connection ended and a reconnection failed.
        await broker.RestartAsync();

        await Task.WhenAll(await publishing).WaitAsync(Timeout); // Every publish completed: the restarted broker took them all.
        // A sentinel behind every message: whatever the broker or the publisher sends twice arrives before it.
        await publisher.PublishAsync("crash/broker/t", Number(Sentinel)).WaitAsync(Timeout);
        Assert.True(await log.WaitUntilAsync(m => Received(m).Contains(Sentinel), Timeout), $"received {log.Numbers.Distinct().Count()} of {count}");
        IReadOnlyList<int> received = log.Numbers;
        Assert.Equal(Sentinel, received[^1]);
        Assert.True(receivedAtKill < count, "the kill happened mid-stream");
        Assert.Equal(Enumerable.Range(1, count), received.SkipLast(1).Order()); // Each exactly once.
    }

    /// <summary>Publishes 1..count at QoS 2, ten every 10 ms, without waiting for each; returns their completions.</summary>
    private static async Task<Task[]> PublishPacedAsync(MqttClient publisher, string topic, int count)
    {
        var published = new Task[count];
        for (int n = 1; n <= count; n++)
        {
            if (n % 10 == 0)
            {
                await Task.Delay(10);
            }

            published[n - 1] = publisher.PublishAsync(topic, Number(n));
        }

        return published;
    }

    private static List<int> Received(IReadOnlyList<MqttMessage> messages) =>
        messages.Select(m => int.Parse(m.GetPayloadAsString(), CultureInfo.InvariantCulture)).ToList();

    private static HashSet<int> Handled(List<IReadOnlyList<string>> finishedRuns, IReadOnlyList<string> current) =>
        finishedRuns.Append(current)
            .SelectMany(lines => lines)
            .Where(l => l.StartsWith("handled ", StringComparison.Ordinal))
            .Select(l => int.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture))
            .ToHashSet();

    private static IEnumerable<int> Field(IReadOnlyList<string> lines, string verb) => lines
        .Where(l => l.StartsWith(verb + " ", StringComparison.Ordinal))
        .Select(l => int.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture));

    private static string Port(TestBroker broker) => broker.Port.ToString(CultureInfo.InvariantCulture);

    private static string Version(MqttProtocolVersion version) => version == MqttProtocolVersion.V311 ? "3" : "5";

    private static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);
}

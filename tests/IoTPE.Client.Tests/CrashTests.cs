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
        var log = new MessageLog();
        MqttClient subscriber = clients.Create(clients.Options(broker, TestClients.NewClientId("sub"), version));
        Task subscribed = subscriber.SubscribeAsync(topic, log.Handler);
        await subscriber.StartAsync();
        await subscribed.WaitAsync(Timeout);

        string publisherId = TestClients.NewClientId("crash-pub");
        string[] common = [Port(broker), Version(version), clients.StatePath(publisherId), publisherId, topic];
        var acked = new List<int>();
        foreach ((int first, int last, int killAfter) in ((int, int, int)[])[(1, 400, 60), (1001, 1400, 250)])
        {
            using CrashHelperRun run = CrashHelperRun.Start(["publish", .. common, Number(first), Number(last)]);
            await run.WaitForAsync(lines => lines.Count(l => l.StartsWith("acked ", StringComparison.Ordinal)) >= killAfter, Timeout, $"{killAfter} acknowledgements");
            run.Kill();
            acked.AddRange(run.Numbers("acked"));
        }

        using (CrashHelperRun final = CrashHelperRun.Start(["publish", .. common, "100001", "100020"]))
        {
            await final.WaitForAsync(lines => lines.Contains("done"), Timeout, "done");
        }

        Assert.True(await log.WaitUntilAsync(m => Received(m).Count(n => n > 100000) == 20, Timeout), $"received {log.Count}");
        await Task.Delay(500); // Anything sent twice would arrive now.
        IReadOnlyList<int> received = log.Numbers;
        Assert.Equal(received.Count, received.Distinct().Count()); // Nothing twice (QoS 2 end to end).
        Assert.Superset(received.ToHashSet(), acked.ToHashSet()); // Every acknowledged message arrived.
        foreach ((int first, int last) in ((int, int)[])[(1, 400), (1001, 1400), (100001, 100020)])
        {
            // The killed runs committed a prefix of their numbers (in order); all of it arrived, nothing else.
            var series = received.Where(n => n >= first && n <= last).Order().ToList();
            Assert.Equal(Enumerable.Range(first, series.Count), series);
        }

        Assert.Contains(400, received); // The first run committed everything long before the kill; the next runs sent it.
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
        await run.WaitForAsync(lines => lines.Contains("subscribed"), Timeout, "subscribed");
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub"), version));
        Task<Task[]> publishing = PublishPacedAsync(publisher, topic, count);

        foreach (int killAt in (int[])[count / 4, count / 2])
        {
            await run.WaitForAsync(lines => Handled(runs, lines).Count >= killAt, Timeout, $"{killAt} messages handled");
            run.Kill();
            runs.Add(run.Lines);
            run.Dispose();
            run = CrashHelperRun.Start(arguments);
        }

        await run.WaitForAsync(lines => Handled(runs, lines).Count == count, Timeout, "every message handled");
        await Task.WhenAll(await publishing).WaitAsync(Timeout);
        await Task.Delay(500); // A wrong second hand-over would show now.
        runs.Add(run.Lines);
        run.Kill();
        run.Dispose();

        var handovers = runs
            .SelectMany((lines, index) => lines.Where(l => l.StartsWith("handled ", StringComparison.Ordinal)).Select(l => (Run: index, Line: l, Fields: l.Split(' '))))
            .Select(h => (h.Run, h.Line, Number: int.Parse(h.Fields[1], CultureInfo.InvariantCulture), Attempt: int.Parse(h.Fields[2], CultureInfo.InvariantCulture), Redelivery: h.Fields[3] == "1"))
            .ToList();
        Assert.Equal(Enumerable.Range(1, count), handovers.Select(h => h.Number).Distinct().Order());

        // A fresh hand-over (not marked as a redelivery) happens exactly once per message.
        Assert.Equal(Enumerable.Range(1, count), handovers.Where(h => !h.Redelivery).Select(h => h.Number).Order());

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

        Task<Task[]> publishing = PublishPacedAsync(publisher, "crash/broker/t", count);
        Assert.True(await log.WaitForCountAsync(count / 4, Timeout));
        broker.Kill(); // Publishing goes on meanwhile: accepted offline, sent after the restart.
        int receivedAtKill = log.Count;
        await Task.Delay(300);
        await broker.RestartAsync();

        await Task.WhenAll(await publishing).WaitAsync(Timeout); // Every publish completed: the restarted broker took them all.
        Assert.True(await log.WaitUntilAsync(m => Received(m).Distinct().Count() == count, Timeout), $"received {log.Numbers.Distinct().Count()} of {count}");
        await Task.Delay(500);
        IReadOnlyList<int> received = log.Numbers;
        Assert.True(receivedAtKill < count, "the kill happened mid-stream");
        Assert.Equal(Enumerable.Range(1, count), received.Order()); // Each exactly once.
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

    private static string Port(TestBroker broker) => broker.Port.ToString(CultureInfo.InvariantCulture);

    private static string Version(MqttProtocolVersion version) => version == MqttProtocolVersion.V311 ? "3" : "5";

    private static string Number(int n) => n.ToString(CultureInfo.InvariantCulture);
}

using System.Globalization;
using IoTPE.EndToEnd.Tests.Infrastructure;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// The bridge through the published binaries: an edge <c>iotpe</c> forwarding to a central <c>iotpe</c>,
/// with a persistent QoS 2 subscriber (MQTT.js) at the central checking every sequence number. Zero lost
/// and zero duplicated across a central that was down for the whole stream, and across <c>kill -9</c>
/// of the edge or of the central in the middle of draining a backlog.
/// </summary>
public sealed class BridgeTests
{
    internal const int Messages = 2000;

    [Fact]
    public async Task A_central_down_for_the_whole_stream_gets_every_message_once_when_it_starts()
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        using OutputCollector subscriber = await SubscribeAtCentralAsync(central, "down");
        await central.StopAsync();
        await using IotpeServer edge = await StartEdgeAsync(central.Port);

        await PublishAtEdgeAsync(edge, "down");
        Assert.Empty(SequenceNumbers(subscriber));
        await central.RestartAsync();

        await AssertEveryMessageOnceAsync(subscriber);
    }

    [Theory]
    [InlineData("edge")]
    [InlineData("central")]
    public async Task Killing_either_side_mid_drain_loses_nothing_and_duplicates_nothing(string killed)
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        using OutputCollector subscriber = await SubscribeAtCentralAsync(central, killed + "kill");
        await central.StopAsync();
        await using IotpeServer edge = await StartEdgeAsync(central.Port);
        await PublishAtEdgeAsync(edge, killed + "kill"); // a backlog of 2,000
        await central.RestartAsync();

        Assert.True(await subscriber.WaitUntilAsync(() => SequenceNumbers(subscriber).Count >= 200, TimeSpan.FromSeconds(30)), subscriber.Error);
        IotpeServer victim = killed == "edge" ? edge : central;
        victim.Kill();
        Assert.True(SequenceNumbers(subscriber).Count < Messages, "the backlog drained before the kill; nothing was tested");
        await victim.RestartAsync();

        await AssertEveryMessageOnceAsync(subscriber);
    }

    [Fact]
    public async Task Killing_the_edge_again_and_again_at_random_points_of_one_drain_loses_nothing_and_duplicates_nothing()
    {
        // The central's Receive Maximum of 1 lets the bridge have one QoS 2 flow in flight, which waits for a
        // commit on both sides: the drain of 2,000 takes seconds (about 700-1,000 a second here) instead of a
        // fraction of one, so every kill lands mid-drain. Unpaced, even a 10,000 backlog once arrived whole
        // within 20 ms of the 128th message on a loaded CI run, and no kill came before the drain ended.
        const int Total = Messages;
        int seed = Environment.TickCount;
        var random = new Random(seed);
        await using IotpeServer central = await IotpeServer.StartWithConfigurationAsync("""{ "broker": { "receiveMaximum": 1 } }""");
        using OutputCollector subscriber = await SubscribeAtCentralAsync(central, "kills");
        await central.StopAsync();
        await using IotpeServer edge = await StartEdgeAsync(central.Port);
        await PublishAtEdgeAsync(edge, "fwd/kills", "kills", count: Total);
        var drain = System.Diagnostics.Stopwatch.StartNew();
        await central.RestartAsync();

        // 4 kills, each once a random number of further messages arrived, plus a random few milliseconds:
        // wherever the edge is then (storing in its client, in flight at the central, acknowledging locally).
        // The points spread over the backlog and end at most 1,800 in.
        int kills = 4;
        int[] points = new int[kills];
        for (int i = 0, at = 0; i < kills; i++)
        {
            at += random.Next(50, 450);
            points[i] = at;
        }
        string story = $"seed {seed}, kills after {string.Join(", ", points)} arrived";
        int killed = 0;
        foreach (int point in points)
        {
            Assert.True(await subscriber.WaitUntilAsync(() => subscriber.Lines.Count > point, TimeSpan.FromSeconds(30)), story + ": " + subscriber.Error + edge.Output);
            await Task.Delay(random.Next(0, 20));
            Assert.True(SequenceNumbers(subscriber).Count < Total, $"{story}: the drain ended before kill {killed + 1}; nothing was tested");
            edge.Kill();
            killed++;
            story += $", {SequenceNumbers(subscriber).Count} at kill {killed} ({drain.ElapsedMilliseconds} ms)";
            await edge.RestartAsync();
        }
        await AssertEveryMessageOnceAsync(subscriber, Total);
    }

    [Fact]
    public async Task A_message_received_from_the_central_is_published_locally_and_not_sent_back()
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        // "both/#" is forwarded and received: only No Local on the bridge's own publishes keeps a
        // received message from going straight back.
        using OutputCollector atCentral = await SubscribeAtCentralAsync(central, "both", filter: "#");
        await using IotpeServer edge = await StartEdgeAsync(central.Port, forward: ["fwd/#", "both/#"], receive: ["both/#"]);
        using OutputCollector atEdge = MqttJs.StartScript("sequence-subscriber.js", $"mqtt://127.0.0.1:{edge.Port}", "both/#", "2", "edge-sub", "5");
        Assert.True(await atEdge.WaitForLineAsync(l => l == "subscribed"), atEdge.Error);
        Assert.True(await edge.WaitForOutputAsync("Bridge central: connected", TimeSpan.FromSeconds(30)), edge.Output);

        // The bridge subscribes at the central after it connected: publish until one arrives.
        int published = 0;
        do
        {
            ProcessRun pub = await MqttJs.RunAsync("pub", "-h", "127.0.0.1", "-p", central.Port.ToString(CultureInfo.InvariantCulture), "-t", "both/cmd", "-m", "1", "-q", "2", "-V", "5");
            Assert.Equal(0, pub.ExitCode);
            published++;
        }
        while (published < 20 && !await atEdge.WaitUntilAsync(() => SequenceNumbers(atEdge).Count > 0, TimeSpan.FromSeconds(2)));
        Assert.True(SequenceNumbers(atEdge).Count > 0, atEdge.Error + edge.Output);

        // A marker forwarded from the edge after them: the central routed every "1" before it, and the
        // bridge forwards in order, so a "1" sent back would reach the central's subscriber before the marker.
        Assert.Equal(0, (await MqttJs.RunAsync("pub", "-h", "127.0.0.1", "-p", edge.Port.ToString(CultureInfo.InvariantCulture), "-t", "fwd/marker", "-m", "999", "-q", "2", "-V", "5")).ExitCode);
        Assert.True(await atCentral.WaitUntilAsync(() => Lines(atCentral).Contains(999), TimeSpan.FromSeconds(30)), atCentral.Error + edge.Output);
        Assert.True(await atEdge.WaitUntilAsync(() => Lines(atEdge).Count(n => n == 1) >= Lines(atCentral).Count(n => n == 1), TimeSpan.FromSeconds(10)), edge.Output);
        Assert.Equal(published, Lines(atCentral).Count(n => n == 1));
        Assert.True(Lines(atEdge).Count(n => n == 1) <= published);
    }

    [Fact]
    public async Task A_message_forwarded_to_the_central_does_not_come_back_through_a_receive_filter_that_matches_it()
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        using OutputCollector atCentral = await SubscribeAtCentralAsync(central, "loop", filter: "loop/#");
        await using IotpeServer edge = await StartEdgeAsync(central.Port, forward: ["loop/#"], receive: ["loop/#"]);
        using OutputCollector atEdge = MqttJs.StartScript("sequence-subscriber.js", $"mqtt://127.0.0.1:{edge.Port}", "loop/#", "2", "edge-sub-loop", "5");
        Assert.True(await atEdge.WaitForLineAsync(l => l == "subscribed"), atEdge.Error);
        Assert.True(await edge.WaitForOutputAsync("Bridge central: connected", TimeSpan.FromSeconds(30)), edge.Output);
        string centralPort = central.Port.ToString(CultureInfo.InvariantCulture);
        // The bridge subscribes at the central after it connected: publish markers until one arrives.
        int markers = 0;
        do
        {
            Assert.Equal(0, (await MqttJs.RunAsync("pub", "-h", "127.0.0.1", "-p", centralPort, "-t", "loop/from-central", "-m", "0", "-q", "2", "-V", "5")).ExitCode);
            markers++;
        }
        while (markers < 20 && !await atEdge.WaitUntilAsync(() => Lines(atEdge).Contains(0), TimeSpan.FromSeconds(2)));
        Assert.True(Lines(atEdge).Contains(0), atEdge.Error + edge.Output);

        Assert.Equal(0, (await MqttJs.RunAsync("pub", "-h", "127.0.0.1", "-p", edge.Port.ToString(CultureInfo.InvariantCulture), "-t", "loop/from-edge", "-m", "5", "-q", "2", "-V", "5")).ExitCode);
        Assert.True(await atCentral.WaitUntilAsync(() => Lines(atCentral).Contains(5), TimeSpan.FromSeconds(30)), atCentral.Error + edge.Output);
        // The central queued any copy of "5" for the bridge before this marker, and the bridge
        // publishes what it receives in order: once the marker is at the edge, a "5" sent back would be too.
        Assert.Equal(0, (await MqttJs.RunAsync("pub", "-h", "127.0.0.1", "-p", centralPort, "-t", "loop/from-central", "-m", "999", "-q", "2", "-V", "5")).ExitCode);
        Assert.True(await atEdge.WaitUntilAsync(() => Lines(atEdge).Contains(999), TimeSpan.FromSeconds(30)), atEdge.Error + edge.Output);
        Assert.Equal(1, Lines(atEdge).Count(n => n == 5));
        Assert.Equal(1, Lines(atCentral).Count(n => n == 5));
    }

    [Fact]
    public async Task A_full_bridge_queue_refuses_the_publisher_with_quota_exceeded()
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        await central.StopAsync();
        await using IotpeServer edge = await StartEdgeAsync(central.Port, maxQueuedMessages: 100);

        using IMqttClient publisher = new MqttClientFactory().CreateMqttClient();
        await publisher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", edge.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500).WithClientId("bound-pub").Build());
        for (int i = 1; i <= 100; i++)
        {
            MqttClientPublishResult accepted = await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("fwd/bound")
                .WithPayload(i.ToString(CultureInfo.InvariantCulture)).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            Assert.Equal(MqttClientPublishReasonCode.Success, accepted.ReasonCode);
        }
        MqttClientPublishResult refused = await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("fwd/bound")
            .WithPayload("101").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal(MqttClientPublishReasonCode.QuotaExceeded, refused.ReasonCode);
        Assert.True(await edge.WaitForOutputAsync("Bridge central: queue bound reached", TimeSpan.FromSeconds(10)), edge.Output);
    }

    [Theory]
    [InlineData("\"address\": \"127.0.0.1\", \"clientId\": \"edge-7\"", "bridges[central].port is required")]
    [InlineData("\"address\": \"127.0.0.1\", \"port\": 1883", "bridges[central].clientId is required")]
    [InlineData("\"address\": \"127.0.0.1\", \"port\": 0, \"clientId\": \"edge-7\"", "bridges[central].port must be between 1 and 65535")]
    [InlineData("\"address\": \"127.0.0.1\", \"port\": 1883, \"clientId\": \"edge-7\", \"keepAlive\": 0", "bridges[central].keepAlive must be between 1 and 65535 seconds")]
    [InlineData("\"address\": \"127.0.0.1\", \"port\": 1883, \"clientId\": \"edge-7\", \"localPrefix\": \"site/+/\"", "bridges[central].localPrefix: 'site/+/' may not hold wildcards")]
    public async Task A_bridge_key_missing_or_out_of_range_stops_the_start_naming_the_bridge_and_key(string keys, string expected)
    {
        string folder = Directory.CreateTempSubdirectory("iotpe-edge-").FullName;
        string config = Path.Combine(folder, "edge.json");
        await File.WriteAllTextAsync(config, $$"""
            { "bridges": [ { "name": "central", {{keys}}, "userName": "", "password": "", "forward": ["fwd/#"], "receive": [],
                             "maxQueuedMessages": 10, "maxQueuedBytes": 10000 } ] }
            """);
        ProcessRun run = await ProcessRun.RunAsync(IotpeBinary.Path, ["run", "--config", config, "--data", Path.Combine(folder, "data")], TimeSpan.FromSeconds(20));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.StandardError, StringComparison.Ordinal);
    }

    /// <summary>
    /// Starts an edge <c>iotpe</c> with one bridge <c>central</c> to 127.0.0.1:<paramref name="centralPort"/>;
    /// <paramref name="extraKeys"/> are added to the bridge's entry, <paramref name="extraConfig"/> to the file's top level (each ending in a comma).
    /// </summary>
    internal static async Task<IotpeServer> StartEdgeAsync(int centralPort, string[]? forward = null, string[]? receive = null, long maxQueuedMessages = 1_000_000,
        string userName = "", string password = "", string extraKeys = "", string extraConfig = "")
    {
        string folder = Directory.CreateTempSubdirectory("iotpe-edge-").FullName;
        string config = Path.Combine(folder, "edge.json");
        string Filters(string[] filters) => string.Join(", ", filters.Select(f => "\"" + f + "\""));
        await File.WriteAllTextAsync(config, $$"""
            { {{extraConfig}} "bridges": [ { "name": "central", "address": "127.0.0.1", "port": {{centralPort}}, "clientId": "edge-7",
                             "userName": "{{userName}}", "password": "{{password}}", {{extraKeys}}
                             "forward": [{{Filters(forward ?? ["fwd/#"])}}], "receive": [{{Filters(receive ?? ["cmd/#"])}}],
                             "maxQueuedMessages": {{maxQueuedMessages}}, "maxQueuedBytes": 1000000000 } ] }
            """);
        return await IotpeServer.StartAsync(["--config", config], dataFolder: Path.Combine(folder, "data"));
    }

    private static Task<OutputCollector> SubscribeAtCentralAsync(IotpeServer central, string name, string? filter = null) =>
        SubscribeAtCentralAsync($"mqtt://127.0.0.1:{central.Port}", filter ?? $"fwd/{name}", name);

    /// <summary>Starts a persistent QoS 2 subscriber (MQTT.js) at <paramref name="url"/> and waits for its SUBACK.</summary>
    internal static async Task<OutputCollector> SubscribeAtCentralAsync(string url, string filter, string name)
    {
        OutputCollector subscriber = MqttJs.StartScript("sequence-subscriber.js", url, filter, "2", $"central-sub-{name}", "5");
        Assert.True(await subscriber.WaitForLineAsync(l => l == "subscribed"), subscriber.Error);
        return subscriber;
    }

    private static Task PublishAtEdgeAsync(IotpeServer edge, string name) => PublishAtEdgeAsync(edge, $"fwd/{name}", name);

    /// <summary>Publishes 1..<see cref="Messages"/> at QoS 2 to <paramref name="topic"/> at the edge and waits until every one was acknowledged.</summary>
    internal static async Task PublishAtEdgeAsync(IotpeServer edge, string topic, string name, string? credentials = null, int count = Messages)
    {
        using OutputCollector publisher = StartPublisherAtEdge(edge, topic, name, credentials: credentials, count: count);
        Assert.True(await publisher.WaitForLineAsync(l => l == "done", TimeSpan.FromSeconds(60)), publisher.Error);
    }

    /// <summary>
    /// Starts publishing 1..<see cref="Messages"/> at QoS 2 to <paramref name="topic"/> at the edge
    /// (window 100); with <paramref name="slowAfter"/>, 2 ms between messages after that many, so the
    /// stream is still running when a test acts on it. <paramref name="credentials"/>: <c>user:password</c>, or null.
    /// </summary>
    internal static OutputCollector StartPublisherAtEdge(IotpeServer edge, string topic, string name, int? slowAfter = null, string? credentials = null, int count = Messages)
    {
        List<string> arguments = [$"mqtt://{(credentials is null ? "" : credentials + "@")}127.0.0.1:{edge.Port}", topic, "2", count.ToString(CultureInfo.InvariantCulture), $"edge-pub-{name}", "5", "100"];
        if (slowAfter is { } n)
        {
            arguments.Add(n.ToString(CultureInfo.InvariantCulture));
        }
        return MqttJs.StartScript("sequence-publisher.js", [.. arguments]);
    }

    /// <summary>Waits for 1..<paramref name="count"/> at <paramref name="subscriber"/>, then checks that none came twice.</summary>
    internal static async Task AssertEveryMessageOnceAsync(OutputCollector subscriber, int count = Messages)
    {
        Assert.True(await subscriber.WaitUntilAsync(() => subscriber.Lines.Count > count && SequenceNumbers(subscriber).Count >= count, TimeSpan.FromSeconds(60)),
            $"{SequenceNumbers(subscriber).Count} of {count} arrived: " + subscriber.Error);
        // A duplicate after a crash has no later message to order it against: only time shows its absence.
        await Task.Delay(1000);
        List<int> received = Lines(subscriber);
        Assert.Equal(count, received.ToHashSet().Count);
        Assert.Equal(count, received.Count); // exactly once
        Assert.Equal(Enumerable.Range(1, count), received.Order());
    }

    /// <summary>The distinct sequence numbers <paramref name="subscriber"/> got so far.</summary>
    internal static HashSet<int> SequenceNumbers(OutputCollector subscriber) => [.. Lines(subscriber)];

    /// <summary>Every sequence number <paramref name="subscriber"/> got so far, duplicates included.</summary>
    internal static List<int> Lines(OutputCollector subscriber) =>
        [.. subscriber.Lines.Where(l => l.StartsWith("got ", StringComparison.Ordinal)).Select(l => int.Parse(l[4..], CultureInfo.InvariantCulture))];
}

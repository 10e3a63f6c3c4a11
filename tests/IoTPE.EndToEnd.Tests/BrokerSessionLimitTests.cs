using System.Text.Json.Nodes;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>Queue limits with their overflow policy, will delay, session expiry, publish rate limits and $SYS counters.</summary>
public sealed class BrokerSessionLimitTests
{
    private static Task<IotpeServer> StartWithAsync(string brokerJson) =>
        IotpeServer.StartWithConfigurationAsync("{ \"broker\": " + brokerJson + " }");

    [Theory]
    [InlineData("dropNewest")]
    [InlineData("dropOldest")]
    public async Task A_full_offline_queue_refuses_a_clients_QoS1_publish_and_drops_nothing_it_acknowledged(string policy)
    {
        // The overflow policy is for messages the broker makes itself: a client's QoS 1 PUBLISH that
        // would overflow the queue is refused to the client (5.0: 0x97), whatever the policy.
        await using IotpeServer server = await StartWithAsync($$"""{ "maxQueuedMessages": 3, "queueOverflowPolicy": "{{policy}}", "sysInterval": 1 }""");
        Assert.Equal(0, (await MosquittoClients.RunOnceAsync(server.Port, "-c", "-i", "slow", "-q", "1", "-t", "q/#", "-E")).ExitCode);
        for (int i = 1; i <= 3; i++)
        {
            Assert.Equal(0, (await MosquittoClients.PublishAsync(server.Port, "-q", "1", "-t", "q/m", "-m", $"m{i}")).ExitCode);
        }
        ProcessRun refused = await MosquittoClients.PublishAsync(server.Port, "-V", "mqttv5", "-q", "1", "-t", "q/m", "-m", "m4");
        Assert.Contains("Quota exceeded", refused.StandardError + refused.StandardOutput, StringComparison.OrdinalIgnoreCase);
        ProcessRun resumed = await MosquittoClients.RunOnceAsync(server.Port, "-c", "-i", "slow", "-q", "1", "-t", "q/#", "-C", "3", "-W", "5");
        Assert.Equal(["m1", "m2", "m3"], resumed.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(await server.WaitForOutputAsync("the queue of session slow is full"), server.Output);
        ProcessRun dropped = await MosquittoClients.RunOnceAsync(server.Port, "-t", "$SYS/broker/publish/messages/dropped", "-C", "1", "-W", "5");
        Assert.Equal("0", dropped.StandardOutput.Trim());
    }

    [Fact]
    public async Task Sys_topics_publish_counters_like_mosquitto()
    {
        await using IotpeServer server = await StartWithAsync("""{ "sysInterval": 1 }""");
        Assert.Equal(0, (await MosquittoClients.PublishAsync(server.Port, "-q", "1", "-t", "a/b", "-m", "x")).ExitCode);
        // The next $SYS tick after the publish carries its count; the subscriber is the one client connected.
        using OutputCollector sys = await MosquittoClients.StartSubscriberAsync(server.Port, "-t", "$SYS/broker/#", "-v");
        static bool Counted(string l) => l.StartsWith("$SYS/broker/messages/received ", StringComparison.Ordinal) && int.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) >= 1;
        Assert.True(await sys.WaitUntilAsync(() => sys.Lines.Any(Counted) && sys.Lines.Any(l => l == "$SYS/broker/clients/connected 1")
            && sys.Lines.Any(l => l.StartsWith("$SYS/broker/store/bytes ", StringComparison.Ordinal))), string.Join('\n', sys.Lines));
        string[] lines = [.. sys.Lines];
        Assert.Contains(lines, l => l.StartsWith("$SYS/broker/version iotpe ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l == "$SYS/broker/clients/connected 1");
        Assert.Contains(lines, l => l.StartsWith("$SYS/broker/messages/received ", StringComparison.Ordinal) && int.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.Contains(lines, l => l.StartsWith("$SYS/broker/store/bytes ", StringComparison.Ordinal));
        // A wildcard at the first level does not match $-topics (§4.7.2).
        ProcessRun wildcard = await MosquittoClients.RunOnceAsync(server.Port, "-t", "#", "-v", "-W", "2");
        Assert.DoesNotContain("$SYS", wildcard.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Will_delay_holds_the_will_and_a_quick_return_cancels_it()
    {
        await using IotpeServer server = await IotpeServer.StartAsync();
        string url = $"mqtt://127.0.0.1:{server.Port}";
        using OutputCollector watcher = MqttSessionPlan.Start(new JsonObject
        {
            ["url"] = url, ["clientId"] = "will-watcher", ["stayMs"] = 15000,
            ["subscribe"] = new JsonArray(new JsonObject { ["topic"] = "will/#", ["qos"] = 1 }),
        });
        await MqttSessionPlan.WaitForAsync(watcher, "suback");
        JsonObject Client(string id, int delay) => new()
        {
            ["url"] = url, ["clientId"] = id, ["clean"] = false, ["stayMs"] = 60000,
            ["connectProperties"] = new JsonObject { ["sessionExpiryInterval"] = 60 },
            ["will"] = new JsonObject { ["topic"] = "will/" + id, ["payload"] = "offline", ["qos"] = 1, ["properties"] = new JsonObject { ["willDelayInterval"] = delay } },
        };
        // Both clients connect before either is killed, so that the check below comes well inside the
        // will delays (2 s for the first): started one after the other, a loaded CI machine took over a second
        // to start the second client, and the first will was due before the check.
        var kills = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan returningKilled;
        using (OutputCollector delayed = MqttSessionPlan.Start(Client("delayed", 2)))
        // The returning client has 5 s to come back: started after the check below, its MQTT.js
        // process took more than the remaining 1.2 s of a 2 s delay on a loaded CI machine.
        using (OutputCollector returning = MqttSessionPlan.Start(Client("returning", ReturningDelaySeconds)))
        {
            await MqttSessionPlan.WaitForAsync(delayed, "connack");
            await MqttSessionPlan.WaitForAsync(returning, "connack");
            delayed.Kill();
            returning.Kill();
            returningKilled = kills.Elapsed;
        }
        // Proving that nothing comes yet takes time: well inside the 2 s will delay.
        await Task.Delay(800);
        Assert.Empty(MqttSessionPlan.Events(watcher).OfKind("message")); // not yet: the delay runs
        using OutputCollector back = MqttSessionPlan.Start(Client("returning", ReturningDelaySeconds));
        await MqttSessionPlan.WaitForAsync(back, "connack");
        await MqttSessionPlan.WaitForAsync(watcher, "message");
        // Had the return not cancelled it, the second will would come 5 s after its client was
        // killed; wait for that and a margin before concluding it never comes.
        TimeSpan untilReturningWill = returningKilled + TimeSpan.FromSeconds(ReturningDelaySeconds) + TimeSpan.FromMilliseconds(300) - kills.Elapsed;
        if (untilReturningWill > TimeSpan.Zero)
        {
            await Task.Delay(untilReturningWill);
        }
        Assert.Equal(["will/delayed"], MqttSessionPlan.Events(watcher).OfKind("message").Select(m => (string)m["topic"]!));
    }

    private const int ReturningDelaySeconds = 5;

    [Fact]
    public async Task An_expired_session_is_forgotten()
    {
        await using IotpeServer server = await IotpeServer.StartAsync();
        string url = $"mqtt://127.0.0.1:{server.Port}";
        JsonObject Client(int expiry) => new()
        {
            ["url"] = url, ["clientId"] = "short-lived", ["clean"] = false, ["stayMs"] = 200,
            ["connectProperties"] = new JsonObject { ["sessionExpiryInterval"] = expiry },
        };
        // 3 s for the first session, so that starting the next MQTT.js process (over a second on a
        // loaded CI machine) does not outlast it; the return sets 1 s, which then runs out.
        await MqttSessionPlan.RunAsync(Client(3));
        IReadOnlyList<JsonObject> soon = await MqttSessionPlan.RunAsync(Client(1));
        Assert.True((bool?)soon.OfKind("connack").Single()["sessionPresent"]);
        Assert.True(await server.WaitForOutputAsync("Session short-lived expired", TimeSpan.FromSeconds(10)), server.Output);
        IReadOnlyList<JsonObject> late = await MqttSessionPlan.RunAsync(Client(1));
        Assert.False((bool?)late.OfKind("connack").Single()["sessionPresent"]);
        Assert.True(await server.WaitForOutputAsync("Session short-lived expired"), server.Output);
    }

    [Fact]
    public async Task A_publisher_above_the_rate_limit_is_slowed_while_others_are_served()
    {
        await using IotpeServer server = await StartWithAsync("""{ "maxPublishRatePerConnection": 200 }""");
        string url = $"mqtt://127.0.0.1:{server.Port}";
        using OutputCollector flood = MqttJs.StartScript("sequence-publisher.js", url, "flood/x", "0", "5000", "flooder", "4", "5000");
        Assert.True(await flood.WaitForLineAsync(l => l.StartsWith("acked ", StringComparison.Ordinal)), flood.Error); // the flood is under way
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(0, (await MosquittoClients.PublishAsync(server.Port, "-q", "1", "-t", "other/x", "-m", "served")).ExitCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"another client waited {watch.Elapsed}");
        Assert.False(await flood.WaitForExitAsync(TimeSpan.FromSeconds(2)), "5000 messages at 200/s cannot finish in 3 s");
    }
}

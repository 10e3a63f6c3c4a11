using System.Text.Json.Nodes;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>Queue limits with their overflow policy, will delay, session expiry, publish rate limits and $SYS counters.</summary>
public sealed class BrokerSessionLimitTests
{
    private static async Task<IotpeServer> StartWithAsync(string brokerJson)
    {
        string config = Path.GetTempFileName();
        await File.WriteAllTextAsync(config, "{ \"broker\": " + brokerJson + " }");
        return await IotpeServer.StartAsync(["--config", config]);
    }

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
        await Task.Delay(1500);
        ProcessRun run = await MosquittoClients.RunOnceAsync(server.Port, "-t", "$SYS/broker/#", "-v", "-W", "3");
        string[] lines = run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
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
            ["url"] = url, ["clientId"] = "will-watcher", ["stayMs"] = 8000,
            ["subscribe"] = new JsonArray(new JsonObject { ["topic"] = "will/#", ["qos"] = 1 }),
        });
        await MqttSessionPlan.WaitForAsync(watcher, "suback");
        JsonObject Client(string id, int delay) => new()
        {
            ["url"] = url, ["clientId"] = id, ["clean"] = false, ["stayMs"] = 60000,
            ["connectProperties"] = new JsonObject { ["sessionExpiryInterval"] = 60 },
            ["will"] = new JsonObject { ["topic"] = "will/" + id, ["payload"] = "offline", ["qos"] = 1, ["properties"] = new JsonObject { ["willDelayInterval"] = delay } },
        };
        using (OutputCollector delayed = MqttSessionPlan.Start(Client("delayed", 2)))
        {
            await MqttSessionPlan.WaitForAsync(delayed, "connack");
            delayed.Kill();
        }
        using (OutputCollector returning = MqttSessionPlan.Start(Client("returning", 2)))
        {
            await MqttSessionPlan.WaitForAsync(returning, "connack");
            returning.Kill();
        }
        await Task.Delay(800);
        Assert.Empty(MqttSessionPlan.Events(watcher).OfKind("message")); // not yet: the delay runs
        using OutputCollector back = MqttSessionPlan.Start(Client("returning", 2));
        await MqttSessionPlan.WaitForAsync(back, "connack");
        await Task.Delay(2500);
        Assert.Equal(["will/delayed"], MqttSessionPlan.Events(watcher).OfKind("message").Select(m => (string)m["topic"]!));
    }

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
        await MqttSessionPlan.RunAsync(Client(1));
        IReadOnlyList<JsonObject> soon = await MqttSessionPlan.RunAsync(Client(1));
        Assert.True((bool?)soon.OfKind("connack").Single()["sessionPresent"]);
        await Task.Delay(3000);
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
        await Task.Delay(1000);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(0, (await MosquittoClients.PublishAsync(server.Port, "-q", "1", "-t", "other/x", "-m", "served")).ExitCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"another client waited {watch.Elapsed}");
        Assert.False(await flood.WaitForExitAsync(TimeSpan.FromSeconds(2)), "5000 messages at 200/s cannot finish in 3 s");
    }
}

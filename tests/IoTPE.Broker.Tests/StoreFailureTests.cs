using System.Text.Json.Nodes;
using IoTPE.Broker.Tests.Infrastructure;

namespace IoTPE.Broker.Tests;

/// <summary>When commits fail (a full disk), publishers learn their message was not taken, and nothing else breaks.</summary>
public sealed class StoreFailureTests
{
    [Fact]
    public async Task A_failed_commit_refuses_the_publish_and_the_broker_recovers()
    {
        FailingStore? failing = null;
        await using RunningBroker broker = await RunningBroker.StartAsync(wrapStore: s => failing = new FailingStore(s));
        // An offline persistent session subscribed at QoS 1: every message to disk/full must be
        // stored for it before the publisher is told it was taken. (A message nobody keeps needs
        // no commit of its own.)
        ProcessRun keeper = await MosquittoClients.RunOnceAsync(broker.Port, "-c", "-i", "keeper", "-q", "1", "-t", "disk/full", "-E");
        Assert.True(keeper.ExitCode == 0, keeper.StandardError);
        failing!.Failing = true;

        // MQTT 5.0: PUBACK with Unspecified error (0x80), which MQTT.js reports as a failed publish.
        IReadOnlyList<JsonObject> v5 = await MqttSessionPlan.RunAsync(new JsonObject
        {
            ["url"] = $"mqtt://127.0.0.1:{broker.Port}", ["clientId"] = "v5-pub", ["stayMs"] = 800,
            ["publish"] = new JsonArray(new JsonObject { ["topic"] = "disk/full", ["payload"] = "x", ["qos"] = 1 }),
        });
        JsonObject published = v5.OfKind("published").Single();
        Assert.NotNull((string?)published["error"]);

        // MQTT 3.1.1 has no negative PUBACK: the client is disconnected and will send again.
        ProcessRun v311 = await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", "disk/full", "-m", "x");
        Assert.NotEqual(0, v311.ExitCode);

        failing.Failing = false;
        ProcessRun recovered = await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", "disk/full", "-m", "x");
        Assert.True(recovered.ExitCode == 0, recovered.StandardError);
    }
}

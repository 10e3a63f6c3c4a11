using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using IoTPE.Broker.Tests.Infrastructure;

namespace IoTPE.Broker.Tests;

/// <summary>
/// A QoS 1/2 PUBLISH the broker refuses (its commit failed: a full disk) is not also delivered: the
/// engine's durable session must never run a request whose publisher was told to send it again.
/// </summary>
public sealed class RefusedPublishTests
{
    [Fact]
    public async Task A_request_refused_for_a_failed_commit_never_reaches_the_engines_session()
    {
        FailingStore? failing = null;
        await using RunningBroker broker = await RunningBroker.StartAsync(wrapStore: s => failing = new FailingStore(s));
        var deliveries = new BlockingCollection<InternalDelivery>();
        InternalClient engine = broker.Broker.ConnectInternalClient("$iotpe/engine-test", 10, deliveries.Add);
        engine.Subscribe("jobs/#");

        failing!.Failing = true;
        IReadOnlyList<JsonObject> refused = await MqttSessionPlan.RunAsync(new JsonObject
        {
            ["url"] = $"mqtt://127.0.0.1:{broker.Port}", ["clientId"] = "refused-pub", ["stayMs"] = 300,
            ["publish"] = new JsonArray(new JsonObject { ["topic"] = "jobs/refused", ["payload"] = "run me once", ["qos"] = 1 }),
        });
        Assert.NotNull((string?)refused.OfKind("published").Single()["error"]); // PUBACK 0x80
        failing.Failing = false;

        // The publisher sends it again, as told; then a second request. The engine sees each once,
        // in order: the refused attempt was dropped, not queued behind them.
        Assert.Equal(0, (await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", "jobs/refused", "-m", "run me once")).ExitCode);
        Assert.Equal(0, (await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", "jobs/next", "-m", "sentinel")).ExitCode);
        var seen = new List<string>();
        while (seen.Count < 2 && deliveries.TryTake(out InternalDelivery? delivery, TimeSpan.FromSeconds(10)))
        {
            seen.Add($"{delivery.Message.Topic} {Encoding.UTF8.GetString(delivery.Message.Payload.Span)}");
            engine.Acknowledge(delivery);
        }
        Assert.Equal(["jobs/refused run me once", "jobs/next sentinel"], seen);
    }
}

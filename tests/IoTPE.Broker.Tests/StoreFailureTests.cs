using System.Text.Json.Nodes;
using IoTPE.Broker.Tests.Infrastructure;

namespace IoTPE.Broker.Tests;

/// <summary>When commits fail (a full disk), publishers learn their message was not taken, and nothing else breaks.</summary>
public sealed class StoreFailureTests
{
    // Also with the absent subscriber's queue spilled to the store beyond a window of two deliveries
    // (SpilledTail): the refused deliveries are then in the tail, not in the queue in memory.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failed_commit_refuses_the_publish_and_the_broker_recovers(bool spilled)
    {
        FailingStore? failing = null;
        await using RunningBroker broker = await RunningBroker.StartAsync(
            spilled ? o => o.MaxResidentDeliveriesPerSession = 2 : null,
            wrapStore: s => failing = new FailingStore(s));
        // An offline persistent session subscribed at QoS 1: every message to disk/full must be
        // stored for it before the publisher is told it was taken. (A message nobody keeps needs
        // no commit of its own.)
        ProcessRun keeper = await MosquittoClients.RunOnceAsync(broker.Port, "-c", "-i", "keeper", "-q", "1", "-t", "disk/full", "-E");
        Assert.True(keeper.ExitCode == 0, keeper.StandardError);
        string[] before = spilled ? ["1", "2", "3"] : [];
        foreach (string payload in before)
        {
            ProcessRun queuedBefore = await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", "disk/full", "-m", payload);
            Assert.True(queuedBefore.ExitCode == 0, queuedBefore.StandardError);
        }
        failing!.Failing = true;

        // MQTT 5.0: PUBACK with Unspecified error (0x80), which MQTT.js reports as a failed publish.
        IReadOnlyList<JsonObject> v5 = await MqttSessionPlan.RunAsync(new JsonObject
        {
            ["url"] = $"mqtt://127.0.0.1:{broker.Port}", ["clientId"] = "v5-pub", ["stayMs"] = 800,
            ["publish"] = new JsonArray(new JsonObject { ["topic"] = "disk/full", ["payload"] = "refused-5", ["qos"] = 1 }),
        });
        JsonObject published = v5.OfKind("published").Single();
        Assert.NotNull((string?)published["error"]);

        // MQTT 3.1.1 has no negative PUBACK: the client is disconnected and will send again.
        ProcessRun v311 = await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", "disk/full", "-m", "refused-3");
        Assert.NotEqual(0, v311.ExitCode);

        failing.Failing = false;
        foreach (string payload in new[] { "taken", "end" })
        {
            ProcessRun recovered = await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", "disk/full", "-m", payload);
            Assert.True(recovered.ExitCode == 0, recovered.StandardError);
        }

        // The absent subscriber's queue lost the refused messages with their rolled-back writes:
        // its publishers send them again, so keeping them would deliver each twice.
        string[] expected = [.. before, "taken", "end"];
        ProcessRun queued = await MosquittoClients.RunOnceAsync(broker.Port, "-c", "-i", "keeper", "-q", "1", "-t", "disk/full",
            "-C", expected.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "-W", "20");
        Assert.True(queued.ExitCode == 0, queued.StandardError);
        Assert.Equal(expected, queued.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task A_spilled_queue_the_store_cannot_read_waits_and_is_delivered_once_reading_works_again()
    {
        FailingStore? failing = null;
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.MaxResidentDeliveriesPerSession = 2,
            wrapStore: s => failing = new FailingStore(s));
        ProcessRun keeper = await MosquittoClients.RunOnceAsync(broker.Port, "-c", "-i", "keeper", "-q", "1", "-t", "tail/#", "-E");
        Assert.True(keeper.ExitCode == 0, keeper.StandardError);
        string[] payloads = ["1", "2", "3", "4", "5", "6"];
        foreach (string payload in payloads)
        {
            ProcessRun published = await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", "tail/x", "-m", payload);
            Assert.True(published.ExitCode == 0, published.StandardError);
        }

        failing!.FailingReads = true;
        using OutputCollector subscriber = await MosquittoClients.StartSubscriberAsync(broker.Port, "-c", "-i", "keeper", "-q", "1", "-t", "tail/#");
        // What is in memory arrives; the tail cannot be read, and the broker goes on serving others.
        await subscriber.WaitForLinesAsync(1, TimeSpan.FromSeconds(20));
        ProcessRun other = await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", "elsewhere", "-m", "served");
        Assert.True(other.ExitCode == 0, other.StandardError);
        Assert.True(subscriber.Lines.Count < payloads.Length, string.Join(",", subscriber.Lines));

        failing.FailingReads = false;
        await subscriber.WaitForLinesAsync(payloads.Length, TimeSpan.FromSeconds(20));
        Assert.Equal(payloads, subscriber.Lines.Take(payloads.Length));
    }
}

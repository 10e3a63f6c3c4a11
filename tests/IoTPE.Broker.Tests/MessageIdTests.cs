using System.Collections.Concurrent;
using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.TestSupport;

namespace IoTPE.Broker.Tests;

/// <summary>
/// A stored message's id is never handed out twice, not even after a restart that found every
/// earlier message delivered and deleted: in-process clients name messages by it (the bridge's
/// message identities), so a reused id would make a new message look like one already sent.
/// </summary>
public sealed class MessageIdTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Message_ids_keep_increasing_across_restarts_though_every_message_was_delivered_and_deleted()
    {
        using var data = new TempFolder();
        var ids = new List<long>();
        for (int run = 0; run < 3; run++)
        {
            await using RunningBroker broker = await RunningBroker.StartAsync(dataFolder: data.Path);
            ids.Add(await PublishAndTakeAsync(broker, "run " + run));
        }

        Assert.True(ids[0] > 0 && ids[1] > ids[0] && ids[2] > ids[1], "ids: " + string.Join(", ", ids));
    }

    // Publishes one QoS 1 message that a persistent in-process client receives and acknowledges
    // (so it is deleted); returns its store id.
    private static async Task<long> PublishAndTakeAsync(RunningBroker broker, string payload)
    {
        using var deliveries = new BlockingCollection<InternalDelivery>();
        InternalClient client = broker.Broker.ConnectInternalClient("$iotpe/id-test", 10, deliveries.Add);
        client.Subscribe("ids/#");
        ProcessRun published = await MosquittoClients.PublishAsync(broker.Port, "-q", "1", "-t", "ids/x", "-m", payload);
        Assert.True(published.ExitCode == 0, published.StandardError);
        Assert.True(deliveries.TryTake(out InternalDelivery? delivery, Timeout), "nothing was delivered");
        Assert.Equal(payload, System.Text.Encoding.UTF8.GetString(delivery.Message.Payload.Span));
        client.Acknowledge(delivery);
        Assert.NotEqual(0, delivery.StoreId);
        return delivery.StoreId;
    }
}

using System.Collections.Concurrent;
using System.Text;
using IoTPE.Broker.Storage;
using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.TestSupport;
using static IoTPE.Broker.Tests.DiskReserveTests;

namespace IoTPE.Broker.Tests;

/// <summary>
/// Issue 12 (disk): below the reserve a client's QoS 1/2 PUBLISH that would be stored for a client's
/// session, and a retained message, are refused with 0x97 (3.1.1: not acknowledged) before anything
/// changes, while messages for the engine's session (run requests), deletes and acknowledgements go
/// on; below the floor the engine's session is refused too. Real broker, real SQLite store, real
/// sockets; only the free space is injected.
/// </summary>
public sealed class DiskReserveRefusalTests
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Inside_the_reserve_stored_and_retained_messages_are_refused_and_the_engines_session_still_gets_its_requests()
    {
        (RunningBroker started, FillingDisk disk, InternalClient engine, BlockingCollection<InternalDelivery> deliveries) = await StartWithReserveAsync();
        await using RunningBroker broker = started;

        using RawConnection publisher = await ConnectAsync(broker.Port, "pub5", version: 5, cleanStart: true);
        Assert.Equal(0x00, await PublishAsync(publisher, "q/t", 1, "before"));

        disk.Free = 63 * MiB;
        Assert.Equal(0x97, await PublishAsync(publisher, "q/t", 2, "refused"));
        Assert.Equal(0x97, await PublishAsync(publisher, "r/t", 3, "retained", retain: true));
        // A message nobody stores (no subscriber) is taken; so is the delete of a retained message.
        Assert.Equal(0x10, await PublishAsync(publisher, "nobody/t", 4, "gone"));
        Assert.Equal(0x10, await PublishAsync(publisher, "r/t", 5, "", retain: true));
        // A run request for the engine's session is stored and delivered inside the reserve.
        Assert.Equal(0x00, await PublishAsync(publisher, "run/calc", 6, "run me"));
        Assert.True(deliveries.TryTake(out InternalDelivery? request, Timeout));
        Assert.Equal("run me", Encoding.UTF8.GetString(request.Message.Payload.Span));
        engine.Acknowledge(request);
        Assert.Equal(2, broker.Broker.DiskReserve!.Refusals);

        disk.Free = 64 * MiB;
        Assert.Equal(0x00, await PublishAsync(publisher, "q/t", 7, "after"));

        // The parked subscriber gets what was acknowledged and nothing that was refused.
        using RawConnection subscriber = await ConnectAsync(broker.Port, "sub", version: 4, cleanStart: false);
        Assert.Equal(["before", "after"], await subscriber.ReceiveAtLeastOnceAsync(2, Timeout));
    }

    [Fact]
    public async Task Below_the_floor_the_engines_session_is_refused_too_and_never_gets_the_request_while_deliveries_drain()
    {
        (RunningBroker started, FillingDisk disk, InternalClient engine, BlockingCollection<InternalDelivery> deliveries) = await StartWithReserveAsync();
        await using RunningBroker broker = started;
        using RawConnection publisher = await ConnectAsync(broker.Port, "pub5", version: 5, cleanStart: true);
        for (ushort id = 1; id <= 3; id++)
        {
            Assert.Equal(0x00, await PublishAsync(publisher, "q/t", id, "m" + id));
        }

        disk.Free = 8 * MiB - 1;
        Assert.Equal(0x97, await PublishAsync(publisher, "run/calc", 10, "refused"));
        Assert.False(deliveries.TryTake(out _, 300), "a refused request must never reach the engine");

        // Deliveries and their acknowledgements (deletes) go on below the floor: the queue drains for good.
        using (RawConnection subscriber = await ConnectAsync(broker.Port, "sub", version: 4, cleanStart: false))
        {
            Assert.Equal(["m1", "m2", "m3"], await subscriber.ReceiveAtLeastOnceAsync(3, Timeout));
            await subscriber.SendAsync(0xE0, 0x00);
            await subscriber.ReadUntilClosedAsync(Timeout);
        }
        disk.Free = 100 * MiB;
        Assert.Equal(0x00, await PublishAsync(publisher, "q/t", 11, "fresh"));
        using RawConnection again = await ConnectAsync(broker.Port, "sub", version: 4, cleanStart: false);
        Assert.Equal(["fresh"], await again.ReceiveAtLeastOnceAsync(1, Timeout));
    }

    [Fact]
    public async Task In_MQTT311_a_publish_refused_for_the_reserve_is_not_acknowledged_so_the_client_sends_it_again()
    {
        var disk = new FillingDisk(1 * MiB);
        await using RunningBroker broker = await RunningBroker.StartAsync();
        broker.Broker.DiskReserve = new DiskReserve(64 * MiB, disk, refreshInterval: TimeSpan.Zero);
        await ParkSubscriberAsync(broker.Port);
        using RawConnection publisher = await ConnectAsync(broker.Port, "pub3", version: 4, cleanStart: false);
        await publisher.SendAsync(RawMqtt.Publish("q/t", 1, "kept by the client", version: 4));
        await publisher.SendAsync(RawMqtt.Publish("nobody/t", 2, "stored nowhere", version: 4));
        (byte type, byte[] body) = await publisher.ReadPacketAsync(Timeout);
        Assert.Equal(0x40, type);
        Assert.Equal(2, (body[0] << 8) | body[1]); // 1 got no PUBACK: the client still holds it
    }

    // A broker with a 64 MiB reserve on a 100 MiB free disk, an engine-like in-process client
    // subscribed to run/#, and a parked subscriber to q/t.
    private static async Task<(RunningBroker Broker, FillingDisk Disk, InternalClient Engine, BlockingCollection<InternalDelivery> Deliveries)> StartWithReserveAsync()
    {
        var disk = new FillingDisk(100 * MiB);
        RunningBroker broker = await RunningBroker.StartAsync();
        broker.Broker.DiskReserve = new DiskReserve(64 * MiB, disk, refreshInterval: TimeSpan.Zero);
        var deliveries = new BlockingCollection<InternalDelivery>();
        InternalClient engine = broker.Broker.ConnectInternalClient("$iotpe/engine-test", 10, deliveries.Add);
        engine.Subscribe("run/#");
        await ParkSubscriberAsync(broker.Port);
        return (broker, disk, engine, deliveries);
    }

    // A persistent 3.1.1 session subscribed to q/t at QoS 1 that goes away, so messages queue for it.
    private static async Task ParkSubscriberAsync(int port)
    {
        using RawConnection subscriber = await ConnectAsync(port, "sub", version: 4, cleanStart: false);
        await subscriber.SendAsync(RawMqtt.Subscribe("q/t"));
        Assert.Equal(0x90, (await subscriber.ReadPacketAsync(Timeout)).Type);
        await subscriber.SendAsync(0xE0, 0x00);
        (_, bool closed) = await subscriber.ReadUntilClosedAsync(Timeout);
        Assert.True(closed);
    }

    // Sends a QoS 1 PUBLISH (5.0) and returns the PUBACK's reason code.
    private static async Task<byte> PublishAsync(RawConnection publisher, string topic, ushort id, string payload, bool retain = false)
    {
        byte[] packet = RawMqtt.Publish(topic, id, payload, version: 5);
        packet[0] |= (byte)(retain ? 1 : 0);
        await publisher.SendAsync(packet);
        (byte type, byte[] body) = await publisher.ReadPacketAsync(Timeout);
        Assert.Equal(0x40, type);
        Assert.Equal(id, (body[0] << 8) | body[1]);
        return body.Length > 2 ? body[2] : (byte)0;
    }

    private static async Task<RawConnection> ConnectAsync(int port, string clientId, int version, bool cleanStart)
    {
        RawConnection connection = await RawConnection.OpenAsync(port);
        await connection.SendAsync(RawMqtt.Connect(clientId, version, cleanStart));
        (byte type, byte[] connack) = await connection.ReadPacketAsync(Timeout);
        Assert.Equal(0x20, type);
        Assert.Equal(0, connack[1]);
        return connection;
    }

}

using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.TestSupport;

namespace IoTPE.Broker.Tests;

/// <summary>
/// A QoS 1 PUBLISH that would overflow a subscriber's queue is refused to its publisher before
/// anything is acknowledged: MQTT 5.0 gets PUBACK 0x97 (Quota exceeded), 3.1.1 gets no PUBACK and
/// the message is delivered once the publisher sends it again. Nothing acknowledged is dropped.
/// Real broker, real SQLite store, real sockets; the clients are hand-written packets so that
/// every acknowledgement can be seen.
/// </summary>
public sealed class QueueOverflowRefusalTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_publish_that_would_overflow_a_queue_gets_quota_exceeded_in_MQTT5()
    {
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.MaxQueuedMessages = 2);
        await ParkSubscriberAsync(broker.Port);

        using RawConnection publisher = await ConnectAsync(broker.Port, "pub5", version: 5, cleanStart: true);
        byte[] reasons = new byte[3];
        for (ushort id = 1; id <= 3; id++)
        {
            await publisher.SendAsync(RawMqtt.Publish("q/t", id, "m" + id, version: 5));
            (byte type, byte[] body) = await publisher.ReadPacketAsync(Timeout);
            Assert.Equal(0x40, type); // PUBACK
            Assert.Equal(id, (body[0] << 8) | body[1]);
            reasons[id - 1] = body.Length > 2 ? body[2] : (byte)0;
        }
        Assert.Equal([0x00, 0x00, 0x97], reasons);
        Assert.Equal(0, broker.Broker.Counters.MessagesDropped);

        // The subscriber gets the two acknowledged messages and nothing else.
        using RawConnection subscriber = await ConnectAsync(broker.Port, "sub", version: 4, cleanStart: false);
        Assert.Equal(["m1", "m2"], await subscriber.ReceiveAtLeastOnceAsync(2, Timeout));
    }

    [Fact]
    public async Task A_refused_publish_is_not_acknowledged_in_MQTT311_and_arrives_once_resent()
    {
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.MaxQueuedMessages = 2);
        await ParkSubscriberAsync(broker.Port);

        RawConnection publisher = await ConnectAsync(broker.Port, "pub3", version: 4, cleanStart: false);
        for (ushort id = 1; id <= 2; id++)
        {
            await publisher.SendAsync(RawMqtt.Publish("q/t", id, "m" + id, version: 4));
            AssertPubAck(await publisher.ReadPacketAsync(Timeout), (byte)id);
        }
        await publisher.SendAsync(RawMqtt.Publish("q/t", 3, "m3", version: 4));
        await WaitUntilAsync(() => broker.Broker.Counters.PublishesRefused == 1);

        // The subscriber drains its queue; a later publish is acknowledged, and no PUBACK for 3 came before it.
        using RawConnection subscriber = await ConnectAsync(broker.Port, "sub", version: 4, cleanStart: false);
        Assert.Equal(["m1", "m2"], await subscriber.ReceiveAtLeastOnceAsync(2, Timeout));
        await publisher.SendAsync(RawMqtt.Publish("q/t", 4, "m4", version: 4));
        AssertPubAck(await publisher.ReadPacketAsync(Timeout), 4);
        Assert.Equal(["m4"], await subscriber.ReceiveAtLeastOnceAsync(1, Timeout));

        // The publisher reconnects and sends 3 again (§4.4): now it is acknowledged and delivered.
        publisher.Dispose();
        publisher = await ConnectAsync(broker.Port, "pub3", version: 4, cleanStart: false);
        byte[] resent = RawMqtt.Publish("q/t", 3, "m3", version: 4);
        resent[0] |= 0x08; // DUP
        await publisher.SendAsync(resent);
        AssertPubAck(await publisher.ReadPacketAsync(Timeout), 3);
        Assert.Equal(["m3"], await subscriber.ReceiveAtLeastOnceAsync(1, Timeout));
        Assert.Equal(0, broker.Broker.Counters.MessagesDropped);
        publisher.Dispose();
    }

    [Fact]
    public async Task The_queued_bytes_of_an_account_are_capped_and_the_publish_is_refused_past_the_quota()
    {
        // Sessions of an account (here: the user name) share one byte quota.
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.MaxQueuedBytesPerAccount = 2 * (3 + 1000 + 64),
            authenticator: new AccountOfUserName());
        await ParkSubscriberAsync(broker.Port, "acme");

        using RawConnection publisher = await ConnectAsync(broker.Port, "pub5", version: 5, cleanStart: true);
        string payload = new('x', 1000);
        var reasons = new List<byte>();
        for (ushort id = 1; id <= 3; id++)
        {
            await publisher.SendAsync(RawMqtt.Publish("q/t", id, payload, version: 5));
            (_, byte[] body) = await publisher.ReadPacketAsync(Timeout);
            reasons.Add(body.Length > 2 ? body[2] : (byte)0);
        }
        Assert.Equal([0x00, 0x00, 0x97], reasons);
    }

    // A persistent 3.1.1 session subscribed to q/t at QoS 1 that goes away, so messages queue for it.
    private static async Task ParkSubscriberAsync(int port, string? userName = null)
    {
        using RawConnection subscriber = await ConnectAsync(port, "sub", version: 4, cleanStart: false, userName);
        await subscriber.SendAsync(RawMqtt.Subscribe("q/t"));
        Assert.Equal(0x90, (await subscriber.ReadPacketAsync(Timeout)).Type);
        await subscriber.SendAsync(0xE0, 0x00);
        (_, bool closed) = await subscriber.ReadUntilClosedAsync(Timeout);
        Assert.True(closed);
    }

    private static async Task<RawConnection> ConnectAsync(int port, string clientId, int version, bool cleanStart, string? userName = null)
    {
        RawConnection connection = await RawConnection.OpenAsync(port);
        // A persistent 5.0 session asks for Session Expiry Interval 0xFFFFFFFF.
        await connection.SendAsync(RawMqtt.Connect(clientId, version, cleanStart, userName, sessionExpiry: version == 5 && !cleanStart ? uint.MaxValue : null));
        (byte type, byte[] connack) = await connection.ReadPacketAsync(Timeout);
        Assert.Equal(0x20, type);
        Assert.Equal(0, connack[1]);
        return connection;
    }

    private static void AssertPubAck((byte Type, byte[] Body) packet, int id)
    {
        Assert.Equal(0x40, packet.Type);
        Assert.Equal(id, (packet.Body[0] << 8) | packet.Body[1]);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }

    // Lets every client in, with its user name as its account.
    private sealed class AccountOfUserName : Security.IAuthenticator
    {
        public ValueTask<Security.AuthenticationResult> AuthenticateAsync(Security.AuthenticationRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Security.AuthenticationResult.Accept(request.UserName));
    }

}

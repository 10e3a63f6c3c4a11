using System.Text;
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
            await publisher.SendAsync(Publish("q/t", id, "m" + id, version: 5));
            (byte type, byte[] body) = await ReadPacketAsync(publisher);
            Assert.Equal(0x40, type); // PUBACK
            Assert.Equal(id, (body[0] << 8) | body[1]);
            reasons[id - 1] = body.Length > 2 ? body[2] : (byte)0;
        }
        Assert.Equal([0x00, 0x00, 0x97], reasons);
        Assert.Equal(0, broker.Broker.Counters.MessagesDropped);

        // The subscriber gets the two acknowledged messages and nothing else.
        using RawConnection subscriber = await ConnectAsync(broker.Port, "sub", version: 4, cleanStart: false);
        Assert.Equal(["m1", "m2"], await ReceiveAsync(subscriber, 2));
    }

    [Fact]
    public async Task A_refused_publish_is_not_acknowledged_in_MQTT311_and_arrives_once_resent()
    {
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.MaxQueuedMessages = 2);
        await ParkSubscriberAsync(broker.Port);

        RawConnection publisher = await ConnectAsync(broker.Port, "pub3", version: 4, cleanStart: false);
        for (ushort id = 1; id <= 2; id++)
        {
            await publisher.SendAsync(Publish("q/t", id, "m" + id, version: 4));
            AssertPubAck(await ReadPacketAsync(publisher), (byte)id);
        }
        await publisher.SendAsync(Publish("q/t", 3, "m3", version: 4));
        await WaitUntilAsync(() => broker.Broker.Counters.PublishesRefused == 1);

        // The subscriber drains its queue; a later publish is acknowledged, and no PUBACK for 3 came before it.
        using RawConnection subscriber = await ConnectAsync(broker.Port, "sub", version: 4, cleanStart: false);
        Assert.Equal(["m1", "m2"], await ReceiveAsync(subscriber, 2));
        await publisher.SendAsync(Publish("q/t", 4, "m4", version: 4));
        AssertPubAck(await ReadPacketAsync(publisher), 4);
        Assert.Equal(["m4"], await ReceiveAsync(subscriber, 1));

        // The publisher reconnects and sends 3 again (§4.4): now it is acknowledged and delivered.
        publisher.Dispose();
        publisher = await ConnectAsync(broker.Port, "pub3", version: 4, cleanStart: false);
        byte[] resent = Publish("q/t", 3, "m3", version: 4);
        resent[0] |= 0x08; // DUP
        await publisher.SendAsync(resent);
        AssertPubAck(await ReadPacketAsync(publisher), 3);
        Assert.Equal(["m3"], await ReceiveAsync(subscriber, 1));
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
            await publisher.SendAsync(Publish("q/t", id, payload, version: 5));
            (_, byte[] body) = await ReadPacketAsync(publisher);
            reasons.Add(body.Length > 2 ? body[2] : (byte)0);
        }
        Assert.Equal([0x00, 0x00, 0x97], reasons);
    }

    // A persistent 3.1.1 session subscribed to q/t at QoS 1 that goes away, so messages queue for it.
    private static async Task ParkSubscriberAsync(int port, string? userName = null)
    {
        using RawConnection subscriber = await ConnectAsync(port, "sub", version: 4, cleanStart: false, userName);
        await subscriber.SendAsync(Subscribe("q/t"));
        Assert.Equal(0x90, (await ReadPacketAsync(subscriber)).Type);
        await subscriber.SendAsync(0xE0, 0x00);
        (_, bool closed) = await subscriber.ReadUntilClosedAsync(Timeout);
        Assert.True(closed);
    }

    private static async Task<RawConnection> ConnectAsync(int port, string clientId, int version, bool cleanStart, string? userName = null)
    {
        RawConnection connection = await RawConnection.OpenAsync(port);
        var body = new List<byte>();
        body.AddRange([0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', (byte)version]);
        body.Add((byte)((cleanStart ? 0x02 : 0x00) | (userName is null ? 0 : 0x80)));
        body.AddRange([0x00, 0x3C]);
        if (version == 5)
        {
            // Session Expiry Interval 0xFFFFFFFF for a persistent 5.0 session.
            body.AddRange(cleanStart ? [0x00] : [0x05, 0x11, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        AddString(body, clientId);
        if (userName is not null)
        {
            AddString(body, userName);
        }
        await connection.SendAsync(Packet(0x10, body));
        (byte type, byte[] connack) = await ReadPacketAsync(connection);
        Assert.Equal(0x20, type);
        Assert.Equal(0, connack[1]);
        return connection;
    }

    private static byte[] Subscribe(string filter)
    {
        var body = new List<byte> { 0x00, 0x01 };
        AddString(body, filter);
        body.Add(0x01);
        return Packet(0x82, body);
    }

    private static byte[] Publish(string topic, ushort id, string payload, int version)
    {
        var body = new List<byte>();
        AddString(body, topic);
        body.AddRange([(byte)(id >> 8), (byte)id]);
        if (version == 5)
        {
            body.Add(0x00);
        }
        body.AddRange(Encoding.UTF8.GetBytes(payload));
        return Packet(0x32, body);
    }

    // Reads QoS 1 PUBLISH packets (3.1.1), acknowledging each, and returns their payloads.
    private static async Task<List<string>> ReceiveAsync(RawConnection subscriber, int count)
    {
        var payloads = new List<string>();
        while (payloads.Count < count)
        {
            (byte type, byte[] body) = await ReadPacketAsync(subscriber);
            Assert.Equal(0x30, type & 0xF0);
            int topicLength = (body[0] << 8) | body[1];
            int idAt = 2 + topicLength;
            await subscriber.SendAsync(0x40, 0x02, body[idAt], body[idAt + 1]);
            payloads.Add(Encoding.UTF8.GetString(body, idAt + 2, body.Length - idAt - 2));
        }
        return payloads;
    }

    private static async Task<(byte Type, byte[] Body)> ReadPacketAsync(RawConnection connection)
    {
        byte[] first = await connection.ReadAsync(1, Timeout);
        Assert.True(first.Length == 1, "the connection closed or nothing came");
        int remaining = 0, multiplier = 1;
        while (true)
        {
            byte b = (await connection.ReadAsync(1, Timeout))[0];
            remaining += (b & 0x7F) * multiplier;
            multiplier *= 128;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }
        byte[] body = remaining == 0 ? [] : await connection.ReadAsync(remaining, Timeout);
        return (first[0], body);
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

    private static void AddString(List<byte> body, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        body.AddRange([(byte)(bytes.Length >> 8), (byte)bytes.Length]);
        body.AddRange(bytes);
    }

    private static byte[] Packet(byte type, List<byte> body)
    {
        var packet = new List<byte> { type };
        int length = body.Count;
        do
        {
            byte b = (byte)(length % 128);
            length /= 128;
            packet.Add(length > 0 ? (byte)(b | 0x80) : b);
        }
        while (length > 0);
        packet.AddRange(body);
        return [.. packet];
    }
}

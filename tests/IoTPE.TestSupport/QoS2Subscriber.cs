using System.Globalization;

namespace IoTPE.TestSupport;

/// <summary>
/// A persistent QoS 2 subscriber written out by hand (MQTT 3.1.1 over <see cref="RawConnection"/>):
/// it subscribes and leaves, so that the broker queues for its session, and later takes the queue as
/// a QoS 2 receiver does, counting each message once.
/// </summary>
public static class QoS2Subscriber
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Connects with a persistent session, subscribes to <paramref name="filter"/> at QoS 2 and disconnects.</summary>
    public static async Task SubscribeAndLeaveAsync(int port, string clientId, string filter, string? userName = null, string? password = null)
    {
        using RawConnection connection = await RawConnection.OpenAsync(port);
        await connection.SendAsync(RawMqtt.Connect(clientId, 4, cleanStart: false, userName, password));
        (byte type, byte[] connack) = await connection.ReadPacketAsync(Patience);
        Expect(type == 0x20 && connack[1] == 0, $"CONNACK accepted, got type {type >> 4} code {(connack.Length > 1 ? connack[1] : -1)}");
        var body = new List<byte> { 0x00, 0x01 };
        RawMqtt.AddString(body, filter);
        body.Add(0x02); // QoS 2
        await connection.SendAsync(RawMqtt.Packet(0x82, body));
        (type, byte[] suback) = await connection.ReadPacketAsync(Patience);
        Expect(type == 0x90 && suback[2] == 0x02, $"SUBACK granting QoS 2, got type {type >> 4} code {(suback.Length > 2 ? suback[2] : -1)}");
        await connection.SendAsync(0xE0, 0x00); // DISCONNECT: the persistent session queues what comes
    }

    /// <summary>
    /// Resumes the session and takes <paramref name="count"/> messages (payload: a number) as a QoS 2
    /// receiver does: a PUBLISH whose packet identifier awaits its PUBREL is a resend, not a new
    /// message. QoS 1 messages are acknowledged and each copy counted. Returns the numbers in the
    /// order they arrived.
    /// </summary>
    public static async Task<List<int>> ReceiveExactlyOnceAsync(int port, string clientId, int count, string? userName = null, string? password = null)
    {
        using RawConnection connection = await RawConnection.OpenAsync(port);
        await connection.SendAsync(RawMqtt.Connect(clientId, 4, cleanStart: false, userName, password));
        (byte type, byte[] connack) = await connection.ReadPacketAsync(Patience);
        Expect(type == 0x20 && connack[0] == 1 && connack[1] == 0, "CONNACK with the session present");
        var received = new List<int>(count);
        var awaitingRelease = new HashSet<int>();
        while (received.Count < count || awaitingRelease.Count > 0)
        {
            (type, byte[] body) = await connection.ReadPacketAsync(Patience);
            switch (type & 0xF0)
            {
                case 0x30 when (type & 0x06) == 0x02: // QoS 1 (published at QoS 1): one connection, so a second copy is a duplicate
                    (ushort atLeastOnce, string text) = RawMqtt.ReadPublish(body);
                    received.Add(int.Parse(text, CultureInfo.InvariantCulture));
                    await connection.SendAsync(RawMqtt.PubAck(atLeastOnce));
                    break;
                case 0x30:
                    Expect((type & 0x06) == 0x04, "a QoS 1 or 2 PUBLISH");
                    (ushort packetIdentifier, string payload) = RawMqtt.ReadPublish(body);
                    if (awaitingRelease.Add(packetIdentifier))
                    {
                        received.Add(int.Parse(payload, CultureInfo.InvariantCulture));
                    }
                    await connection.SendAsync(0x50, 0x02, (byte)(packetIdentifier >> 8), (byte)packetIdentifier);
                    break;
                case 0x60:
                    awaitingRelease.Remove((body[0] << 8) | body[1]);
                    await connection.SendAsync(0x70, 0x02, body[0], body[1]);
                    break;
                default:
                    Expect(false, $"unexpected packet type {type >> 4}");
                    break;
            }
        }
        return received;
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("QoS 2 subscriber: " + what);
        }
    }
}

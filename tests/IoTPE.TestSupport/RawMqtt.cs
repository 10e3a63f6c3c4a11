using System.Text;

namespace IoTPE.TestSupport;

/// <summary>
/// Hand-built MQTT packets, for tests that must see every byte the broker answers (with
/// <see cref="RawConnection"/>) rather than what a client library makes of it.
/// </summary>
public static class RawMqtt
{
    /// <summary>CONNECT (MQTT 3.1.1 when <paramref name="version"/> is 4, 5.0 when 5), keep alive 60 s.</summary>
    /// <param name="sessionExpiry">5.0 only: the Session Expiry Interval property, or none.</param>
    public static byte[] Connect(string clientId, int version, bool cleanStart, string? userName = null, string? password = null, uint? sessionExpiry = null)
    {
        var body = new List<byte> { 0x00, 0x04, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', (byte)version };
        body.Add((byte)((cleanStart ? 0x02 : 0x00) | (userName is null ? 0 : 0x80) | (password is null ? 0 : 0x40)));
        body.AddRange([0x00, 0x3C]);
        if (version == 5)
        {
            body.AddRange(sessionExpiry is { } expiry
                ? [0x05, 0x11, (byte)(expiry >> 24), (byte)(expiry >> 16), (byte)(expiry >> 8), (byte)expiry]
                : [0x00]);
        }
        AddString(body, clientId);
        if (userName is not null)
        {
            AddString(body, userName);
        }
        if (password is not null)
        {
            AddString(body, password);
        }
        return Packet(0x10, body);
    }

    /// <summary>SUBSCRIBE to one filter at QoS 1.</summary>
    public static byte[] Subscribe(string filter, int version = 4, ushort packetIdentifier = 1)
    {
        var body = new List<byte> { (byte)(packetIdentifier >> 8), (byte)packetIdentifier };
        if (version == 5)
        {
            body.Add(0x00);
        }
        AddString(body, filter);
        body.Add(0x01);
        return Packet(0x82, body);
    }

    /// <summary>A QoS 1 PUBLISH.</summary>
    public static byte[] Publish(string topic, ushort packetIdentifier, ReadOnlySpan<byte> payload, int version, bool retain = false)
    {
        var body = new List<byte>(payload.Length + topic.Length + 8);
        AddString(body, topic);
        body.AddRange([(byte)(packetIdentifier >> 8), (byte)packetIdentifier]);
        if (version == 5)
        {
            body.Add(0x00);
        }
        body.AddRange(payload);
        return Packet((byte)(retain ? 0x33 : 0x32), body);
    }

    /// <summary>A QoS 1 PUBLISH of UTF-8 text.</summary>
    public static byte[] Publish(string topic, ushort packetIdentifier, string payload, int version, bool retain = false) =>
        Publish(topic, packetIdentifier, Encoding.UTF8.GetBytes(payload), version, retain);

    /// <summary>PUBACK (3.1.1 form: success).</summary>
    public static byte[] PubAck(ushort packetIdentifier) => [0x40, 0x02, (byte)(packetIdentifier >> 8), (byte)packetIdentifier];

    /// <summary>A packet: the type byte, the Remaining Length and the body.</summary>
    public static byte[] Packet(byte type, List<byte> body)
    {
        var packet = new List<byte>(body.Count + 5) { type };
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

    /// <summary>Appends a UTF-8 string with its two-byte length.</summary>
    public static void AddString(List<byte> body, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        body.AddRange([(byte)(bytes.Length >> 8), (byte)bytes.Length]);
        body.AddRange(bytes);
    }

    /// <summary>The payload of a QoS 1/2 PUBLISH body (3.1.1: no properties) as text, and its packet identifier.</summary>
    public static (ushort PacketIdentifier, string Payload) ReadPublish(byte[] body)
    {
        int topicLength = (body[0] << 8) | body[1];
        int idAt = 2 + topicLength;
        return ((ushort)((body[idAt] << 8) | body[idAt + 1]), Encoding.UTF8.GetString(body, idAt + 2, body.Length - idAt - 2));
    }
}

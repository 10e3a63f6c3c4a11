using System.Buffers;
using IoTPE.Mqtt;

namespace IoTPE.Client.Storage;

/// <summary>
/// How a message is kept in the state file: the PUBLISH packet itself in MQTT 5.0 encoding (so the properties come
/// along), with a placeholder packet identifier of 1 for QoS 1/2 — the real one lives in its own column — and DUP
/// clear. The codec that puts packets on the wire also writes and reads them here.
/// </summary>
internal static class StoredPublish
{
    private const MqttProtocolVersion Encoding = MqttProtocolVersion.V500;

    /// <summary>The stored form of <paramref name="packet"/>.</summary>
    public static byte[] Encode(in PublishPacket packet)
    {
        PublishPacket normalized = packet with
        {
            PacketIdentifier = packet.QoS == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)1,
            Dup = false,
        };
        byte[] blob = new byte[normalized.GetEncodedSize(Encoding)];
        normalized.Encode(blob, Encoding);
        return blob;
    }

    /// <summary>The packet stored as <paramref name="blob"/>; its topic and payload are views into the blob.</summary>
    /// <exception cref="InvalidDataException">The blob is not a stored PUBLISH.</exception>
    public static PublishPacket Decode(byte[] blob)
    {
        var sequence = new ReadOnlySequence<byte>(blob);
        if (PacketFramer.TryReadFrame(sequence, PacketFramer.ProtocolMaximumPacketSize, out PacketFrame frame, out _, out MqttDecodeError error) != FrameStatus.Complete ||
            frame.Type != PacketType.Publish ||
            !PublishPacket.TryDecode(frame, Encoding, out PublishPacket packet, out error))
        {
            throw new InvalidDataException($"A stored message is not a valid PUBLISH: {error}");
        }

        return packet;
    }

    /// <summary>The application message of a stored PUBLISH.</summary>
    public static MqttMessage ToMessage(byte[] blob)
    {
        PublishPacket packet = Decode(blob);
        return new MqttMessage(packet.GetTopicName(), packet.Payload)
        {
            QoS = packet.QoS,
            Retain = packet.Retain,
            Properties = packet.Properties,
        };
    }
}

using System.Buffers;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Storage;

/// <summary>
/// Stores a message as what it is on the wire: an MQTT 5.0 PUBLISH packet (topic, payload, QoS,
/// retain flag and properties), so the store needs no format of its own and the codec's
/// validation guards what comes back from disk.
/// </summary>
internal static class StoredMessageCodec
{
    public static byte[] Encode(ApplicationMessage message)
    {
        var packet = new PublishPacket(message.TopicUtf8, message.Payload)
        {
            QoS = message.QoS,
            Retain = message.Retain,
            PacketIdentifier = message.QoS == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)1,
            Properties = message.Properties,
        };
        byte[] bytes = new byte[packet.GetEncodedSize(MqttProtocolVersion.V500)];
        packet.Encode(bytes, MqttProtocolVersion.V500);
        return bytes;
    }

    /// <summary>Rebuilds a stored message, or returns null when the bytes are not a valid PUBLISH.</summary>
    public static ApplicationMessage? Decode(StoredMessage stored)
    {
        var sequence = new ReadOnlySequence<byte>(stored.Packet);
        if (PacketFramer.TryReadFrame(sequence, PacketFramer.ProtocolMaximumPacketSize, out PacketFrame frame, out _, out _) != FrameStatus.Complete ||
            frame.Type != PacketType.Publish ||
            !PublishPacket.TryDecode(frame, MqttProtocolVersion.V500, out PublishPacket packet, out _))
        {
            return null;
        }
        return new ApplicationMessage(packet.GetTopicName(), packet.TopicName.ToArray(), packet.Payload.ToArray(), packet.QoS, packet.Retain, packet.Properties)
        {
            ExpiresAtUnixMs = stored.ExpiresAtUnixMs,
            PublisherClientId = stored.Publisher,
            PublisherUserName = stored.PublisherUserName,
            StoreId = stored.Id,
        };
    }
}

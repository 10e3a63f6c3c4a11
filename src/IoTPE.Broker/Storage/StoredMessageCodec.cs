using System.Buffers;
using IoTPE.Broker.Connections;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Storage;

/// <summary>
/// Stores a message as what it is on the wire: an MQTT 5.0 PUBLISH packet (topic, QoS, retain flag
/// and properties), so the store needs no format of its own and the codec's validation guards
/// what comes back from disk. The payload is stored apart (<see cref="StoredMessage.PayloadApart"/>),
/// so that loading the messages does not load the payloads.
/// </summary>
internal static class StoredMessageCodec
{
    /// <summary>The message's stored record; its payload is the message's own array, not a copy (payloads are immutable).</summary>
    public static StoredMessage Encode(ApplicationMessage message) =>
        new(message.StoreId, EncodePacket(message, ReadOnlyMemory<byte>.Empty), message.ExpiresAtUnixMs, message.PublisherClientId, message.PublisherUserName)
        {
            PayloadApart = true,
            Payload = message.Payload,
            PayloadLength = message.PayloadLength,
            StoredAtUnixMs = message.StoredAtUnixMs == 0 ? null : message.StoredAtUnixMs,
        };

    private static byte[] EncodePacket(ApplicationMessage message, ReadOnlyMemory<byte> payload)
    {
        var packet = new PublishPacket(message.TopicUtf8, payload)
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

    /// <summary>
    /// Rebuilds a stored message, or returns null when the bytes are not a valid PUBLISH. A payload
    /// stored apart stays on disk: the message comes back paged out to <paramref name="pager"/>.
    /// </summary>
    /// <param name="topics">Shares one string and one UTF-8 array among the messages of a topic.</param>
    public static ApplicationMessage? Decode(StoredMessage stored, ResidentPayloads pager, TopicNameCache topics)
    {
        var sequence = new ReadOnlySequence<byte>(stored.Packet);
        if (PacketFramer.TryReadFrame(sequence, PacketFramer.ProtocolMaximumPacketSize, out PacketFrame frame, out _, out _) != FrameStatus.Complete ||
            frame.Type != PacketType.Publish ||
            !PublishPacket.TryDecode(frame, MqttProtocolVersion.V500, out PublishPacket packet, out _))
        {
            return null;
        }
        (string topic, byte[] topicUtf8) = topics.Get(packet.TopicName.Span);
        var message = new ApplicationMessage(
            topic, topicUtf8, packet.Payload.ToArray(), packet.QoS, packet.Retain, packet.Properties,
            stored.PayloadApart ? stored.PayloadLength : packet.Payload.Length)
        {
            ExpiresAtUnixMs = stored.ExpiresAtUnixMs,
            PublisherClientId = stored.Publisher,
            PublisherUserName = stored.PublisherUserName,
            StoreId = stored.Id,
            StoredAtUnixMs = stored.StoredAtUnixMs ?? 0,
        };
        if (stored.PayloadApart)
        {
            message.PageOut(pager);
        }
        return message;
    }
}

using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>UNSUBSCRIBE (spec 3.10). Topic filters are checked like SUBSCRIBE's.</summary>
public sealed class UnsubscribePacket : IMqttPacket
{
    private PropertySet _set;

    /// <summary>Creates an UNSUBSCRIBE.</summary>
    /// <param name="packetIdentifier">A non-zero packet identifier.</param>
    /// <param name="topicFilters">At least one topic filter, exactly as subscribed.</param>
    public UnsubscribePacket(ushort packetIdentifier, IReadOnlyList<string> topicFilters)
    {
        ArgumentNullException.ThrowIfNull(topicFilters);
        PacketIdentifier = packetIdentifier;
        TopicFilters = topicFilters;
    }

    /// <inheritdoc />
    public PacketType Type => PacketType.Unsubscribe;

    /// <summary>The packet identifier; never 0.</summary>
    public ushort PacketIdentifier { get; }

    /// <summary>The topic filters to remove, in order; never empty.</summary>
    public IReadOnlyList<string> TopicFilters { get; }

    /// <summary>User Properties (0x26), in order (5.0); empty when none.</summary>
    public IReadOnlyList<UserProperty> UserProperties { get => _set.UserPropertyList; init => _set.UserProperties = value is { Count: > 0 } ? value : null; }

    /// <summary>Decodes an UNSUBSCRIBE frame.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.Unsubscribe"/>.</param>
    /// <param name="version">The connection's protocol version.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid UNSUBSCRIBE.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out UnsubscribePacket? packet, out MqttDecodeError error)
    {
        packet = null;
        bool version5 = PacketBody.IsVersion5(version);
        if (!PacketBody.CheckHeader(frame, PacketType.Unsubscribe, out error))
        {
            return false;
        }

        var reader = new MqttReader(PacketBody.GetContiguous(frame).Span);
        if (!SubscribePacket.TryReadPacketIdentifier(ref reader, out ushort packetIdentifier, out error))
        {
            return false;
        }

        PropertySet set = default;
        if (version5 && !PropertyDecoder.TryDecode(ref reader, AllowedProperties.Unsubscribe, out set, out error))
        {
            return false;
        }

        if (reader.End)
        {
            error = DecodeErrors.EmptyUnsubscribe;
            return false;
        }

        var filters = new List<string>();
        while (!reader.End)
        {
            if (!SubscribePacket.TryReadTopicFilter(ref reader, out string filter, out _, out error))
            {
                return false;
            }

            filters.Add(filter);
        }

        packet = new UnsubscribePacket(packetIdentifier, filters) { _set = set };
        return true;
    }

    /// <inheritdoc />
    public int GetEncodedSize(MqttProtocolVersion version) => EncodedSize.Packet(GetRemainingLength(version, out _));

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">No topic filters, or packet identifier 0.</exception>
    public int Encode(Span<byte> destination, MqttProtocolVersion version)
    {
        int remainingLength = GetRemainingLength(version, out int propertiesLength);
        EncodedSize.EnsureDestination(destination, EncodedSize.Packet(remainingLength));
        var writer = new MqttWriter(destination);
        writer.WriteFixedHeader(PacketType.Unsubscribe, 0x02, remainingLength);
        writer.WriteUInt16(PacketIdentifier);
        if (PacketBody.IsVersion5(version))
        {
            _set.WriteWithPrefix(ref writer, propertiesLength);
        }

        foreach (string filter in TopicFilters)
        {
            writer.WriteString(filter);
        }

        return writer.Position;
    }

    private int GetRemainingLength(MqttProtocolVersion version, out int propertiesLength)
    {
        if (PacketIdentifier == 0 || TopicFilters.Count == 0)
        {
            throw new InvalidOperationException("An UNSUBSCRIBE needs a non-zero packet identifier and at least one topic filter.");
        }

        propertiesLength = 0;
        int length = 2;
        if (PacketBody.IsVersion5(version))
        {
            length += _set.GetLengthWithPrefix(out propertiesLength);
        }

        foreach (string filter in TopicFilters)
        {
            length += EncodedSize.String(filter);
        }

        return length;
    }
}

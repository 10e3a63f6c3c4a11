using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>
/// SUBSCRIBE (spec 3.8). The decoder checks every topic filter (spec 4.7, and 4.8.2 for "$share/" filters) and
/// fails with <see cref="ReasonCode.TopicFilterInvalid"/> on an invalid one, as well as the subscription option rules.
/// </summary>
public sealed class SubscribePacket : IMqttPacket
{
    private PropertySet _set;

    /// <summary>Creates a SUBSCRIBE.</summary>
    /// <param name="packetIdentifier">A non-zero packet identifier.</param>
    /// <param name="subscriptions">At least one topic filter with its options.</param>
    public SubscribePacket(ushort packetIdentifier, IReadOnlyList<TopicSubscription> subscriptions)
    {
        ArgumentNullException.ThrowIfNull(subscriptions);
        PacketIdentifier = packetIdentifier;
        Subscriptions = subscriptions;
    }

    /// <inheritdoc />
    public PacketType Type => PacketType.Subscribe;

    /// <summary>The packet identifier; never 0.</summary>
    public ushort PacketIdentifier { get; }

    /// <summary>The topic filters and their options, in order; never empty.</summary>
    public IReadOnlyList<TopicSubscription> Subscriptions { get; }

    /// <summary>Subscription Identifier (0x0B), 1 to 268,435,455 (5.0).</summary>
    public uint? SubscriptionIdentifier
    {
        get => _set.SubscriptionIdentifiers is [var identifier] ? identifier : null;
        init => _set.SubscriptionIdentifiers = value is { } identifier ? [identifier] : null;
    }

    /// <summary>User Properties (0x26), in order (5.0); empty when none.</summary>
    public IReadOnlyList<UserProperty> UserProperties { get => _set.UserPropertyList; init => _set.UserProperties = value is { Count: > 0 } ? value : null; }

    /// <summary>Decodes a SUBSCRIBE frame.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.Subscribe"/>.</param>
    /// <param name="version">The connection's protocol version.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid SUBSCRIBE.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out SubscribePacket? packet, out MqttDecodeError error)
    {
        packet = null;
        bool version5 = PacketBody.IsVersion5(version);
        if (!PacketBody.CheckHeader(frame, PacketType.Subscribe, out error))
        {
            return false;
        }

        var reader = new MqttReader(PacketBody.GetContiguous(frame).Span);
        if (!TryReadPacketIdentifier(ref reader, out ushort packetIdentifier, out error))
        {
            return false;
        }

        PropertySet set = default;
        if (version5 && !PropertyDecoder.TryDecode(ref reader, AllowedProperties.Subscribe, out set, out error))
        {
            return false;
        }

        if (reader.End)
        {
            error = DecodeErrors.EmptySubscribe;
            return false;
        }

        var subscriptions = new List<TopicSubscription>();
        while (!reader.End)
        {
            if (!TryReadTopicFilter(ref reader, out string filter, out bool shared, out error))
            {
                return false;
            }

            if (!reader.TryReadByte(out byte options))
            {
                error = DecodeErrors.Truncated;
                return false;
            }

            if (!TryDecodeOptions(options, version5, shared, out SubscriptionOptions decoded, out error))
            {
                return false;
            }

            subscriptions.Add(new TopicSubscription(filter, decoded));
        }

        packet = new SubscribePacket(packetIdentifier, subscriptions) { _set = set };
        return true;
    }

    /// <inheritdoc />
    public int GetEncodedSize(MqttProtocolVersion version) => EncodedSize.Packet(GetRemainingLength(version, out _));

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">No subscriptions, or packet identifier 0.</exception>
    public int Encode(Span<byte> destination, MqttProtocolVersion version)
    {
        int remainingLength = GetRemainingLength(version, out int propertiesLength);
        EncodedSize.EnsureDestination(destination, EncodedSize.Packet(remainingLength));
        var writer = new MqttWriter(destination);
        writer.WriteFixedHeader(PacketType.Subscribe, 0x02, remainingLength);
        writer.WriteUInt16(PacketIdentifier);
        if (PacketBody.IsVersion5(version))
        {
            _set.WriteWithPrefix(ref writer, propertiesLength);
        }

        foreach (TopicSubscription subscription in Subscriptions)
        {
            writer.WriteString(subscription.TopicFilter);
            writer.WriteByte(subscription.Options.ToByte(version));
        }

        return writer.Position;
    }

    /// <summary>A non-zero packet identifier (spec 2.2.1), shared with UNSUBSCRIBE.</summary>
    internal static bool TryReadPacketIdentifier(ref MqttReader reader, out ushort packetIdentifier, out MqttDecodeError error)
    {
        if (!reader.TryReadUInt16(out packetIdentifier))
        {
            error = DecodeErrors.Truncated;
            return false;
        }

        if (packetIdentifier == 0)
        {
            error = DecodeErrors.PacketIdentifierZero;
            return false;
        }

        error = default;
        return true;
    }

    /// <summary>A topic filter that is a valid string (else Malformed) and a valid filter (else Topic Filter invalid), shared with UNSUBSCRIBE.</summary>
    internal static bool TryReadTopicFilter(ref MqttReader reader, out string filter, out bool shared, out MqttDecodeError error)
    {
        filter = string.Empty;
        shared = false;
        if (!reader.TryReadUtf8(out int offset, out int length, out error))
        {
            return false;
        }

        ReadOnlySpan<byte> utf8 = reader.Slice(offset, length);
        if (!TopicFilter.IsValid(utf8))
        {
            error = DecodeErrors.TopicFilterInvalid;
            return false;
        }

        shared = utf8.StartsWith("$share/"u8);
        filter = MqttString.Decode(utf8);
        return true;
    }

    private static bool TryDecodeOptions(byte options, bool version5, bool shared, out SubscriptionOptions decoded, out MqttDecodeError error)
    {
        decoded = default;
        var qos = (QualityOfService)(options & 0x03);
        if (!version5)
        {
            // 3.1.1 [MQTT-3.8.3-4]: bits 7-2 reserved, QoS 3 invalid: both Malformed.
            error = (options & 0xFC) != 0 ? DecodeErrors.SubscriptionOptionsReserved
                : (int)qos == 3 ? DecodeErrors.SubscriptionQoS3Malformed
                : default;
            decoded = new SubscriptionOptions(qos);
            return error == default;
        }

        var retainHandling = (RetainHandling)((options >> 4) & 0x03);
        bool noLocal = (options & 0x04) != 0;
        error = (options & 0xC0) != 0 ? DecodeErrors.SubscriptionOptionsReserved
            : (int)qos == 3 ? DecodeErrors.SubscriptionQoS3
            : (int)retainHandling == 3 ? DecodeErrors.RetainHandling3
            : noLocal && shared ? DecodeErrors.NoLocalOnSharedSubscription
            : default;
        decoded = new SubscriptionOptions(qos, noLocal, (options & 0x08) != 0, retainHandling);
        return error == default;
    }

    private int GetRemainingLength(MqttProtocolVersion version, out int propertiesLength)
    {
        if (PacketIdentifier == 0 || Subscriptions.Count == 0)
        {
            throw new InvalidOperationException("A SUBSCRIBE needs a non-zero packet identifier and at least one subscription.");
        }

        propertiesLength = 0;
        int length = 2;
        if (PacketBody.IsVersion5(version))
        {
            length += _set.GetLengthWithPrefix(out propertiesLength);
        }

        foreach (TopicSubscription subscription in Subscriptions)
        {
            length += EncodedSize.String(subscription.TopicFilter) + 1;
        }

        return length;
    }
}

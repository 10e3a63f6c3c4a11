namespace IoTPE.Mqtt;

/// <summary>
/// PUBLISH (spec 3.3): an application message. A struct so the hot path does not allocate: decoding returns
/// <see cref="TopicName"/> and <see cref="Payload"/> as views into the frame's body when the body is one segment
/// (and one copy of the body otherwise), so the caller must copy them (or finish with them) before releasing the
/// input buffer. <see cref="Properties"/> is null when the packet has none and is always an owned copy.
/// </summary>
public readonly struct PublishPacket : IMqttPacket
{
    /// <summary>Creates a PUBLISH; set QoS, identifier, flags and properties with an object initializer.</summary>
    /// <param name="topicName">The topic name as UTF-8 bytes (empty only with a Topic Alias, 5.0).</param>
    /// <param name="payload">The application message.</param>
    public PublishPacket(ReadOnlyMemory<byte> topicName, ReadOnlyMemory<byte> payload)
    {
        TopicName = topicName;
        Payload = payload;
    }

    /// <summary>Creates a PUBLISH from a topic string (encoded to UTF-8 once, here).</summary>
    /// <param name="topicName">The topic name.</param>
    /// <param name="payload">The application message.</param>
    public PublishPacket(string topicName, ReadOnlyMemory<byte> payload)
        : this(System.Text.Encoding.UTF8.GetBytes(topicName), payload)
    {
    }

    /// <inheritdoc />
    public PacketType Type => PacketType.Publish;

    /// <summary>The topic name as validated UTF-8 bytes (spec 3.3.2.1); empty when a 5.0 Topic Alias stands for it.</summary>
    public ReadOnlyMemory<byte> TopicName { get; init; }

    /// <summary>The packet identifier; 0 at QoS 0, non-zero at QoS 1 and 2 (spec 3.3.2.2).</summary>
    public ushort PacketIdentifier { get; init; }

    /// <summary>The delivery QoS (fixed header bits 2-1).</summary>
    public QualityOfService QoS { get; init; }

    /// <summary>DUP flag (fixed header bit 3): a re-delivery. Always false at QoS 0.</summary>
    public bool Dup { get; init; }

    /// <summary>RETAIN flag (fixed header bit 0).</summary>
    public bool Retain { get; init; }

    /// <summary>The application message: every byte after the variable header (may be empty).</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>MQTT 5.0 properties, or null when there are none (always null when decoded as 3.1.1).</summary>
    public PublishProperties? Properties { get; init; }

    /// <summary>The topic name decoded to a string (allocates).</summary>
    public string GetTopicName() => MqttString.Decode(TopicName.Span);

    /// <summary>Decodes a PUBLISH frame.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.Publish"/>.</param>
    /// <param name="version">The connection's protocol version.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid PUBLISH.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, out PublishPacket packet, out MqttDecodeError error)
    {
        packet = default;
        bool version5 = PacketBody.IsVersion5(version);
        if (!PacketBody.CheckHeader(frame, PacketType.Publish, out error))
        {
            return false;
        }

        int flags = frame.Flags;
        var qos = (QualityOfService)((flags >> 1) & 0x03);
        bool dup = (flags & 0x08) != 0;
        if ((int)qos == 3)
        {
            error = DecodeErrors.PublishQoS3;
            return false;
        }

        if (dup && qos == QualityOfService.AtMostOnce)
        {
            error = DecodeErrors.PublishDupAtQoS0;
            return false;
        }

        ReadOnlyMemory<byte> body = PacketBody.GetContiguous(frame);
        var reader = new MqttReader(body.Span);
        if (!reader.TryReadBinary(out int topicOffset, out int topicLength))
        {
            error = DecodeErrors.Truncated;
            return false;
        }

        // One vectorized pass finds U+0000 (Malformed, spec 1.5.4) and wildcards (spec 3.3.2.1) together.
        ReadOnlySpan<byte> topic = reader.Slice(topicOffset, topicLength);
        int forbidden = topic.IndexOfAny((byte)0, (byte)'+', (byte)'#');
        if (forbidden >= 0)
        {
            error = topic[forbidden] == 0 ? DecodeErrors.InvalidString : DecodeErrors.TopicNameWildcard;
            return false;
        }

        if (!System.Text.Unicode.Utf8.IsValid(topic))
        {
            error = DecodeErrors.InvalidString;
            return false;
        }

        ushort packetIdentifier = 0;
        if (qos != QualityOfService.AtMostOnce)
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
        }

        PublishProperties? properties = null;
        if (version5)
        {
            if (reader.TryPeekByte(out byte propertyLength) && propertyLength == 0)
            {
                reader.TryReadByte(out _);
            }
            else
            {
                if (!PropertyDecoder.TryDecode(ref reader, AllowedProperties.Publish, out PropertySet set, out error))
                {
                    return false;
                }

                properties = new PublishProperties(set);
            }
        }

        // An empty topic name needs a Topic Alias (5.0, spec 3.3.2.1); 3.1.1 has no aliases [MQTT-4.7.3-1].
        if (topicLength == 0 && properties?.TopicAlias is null)
        {
            error = DecodeErrors.TopicNameEmpty;
            return false;
        }

        packet = new PublishPacket(body.Slice(topicOffset, topicLength), body[reader.Position..])
        {
            PacketIdentifier = packetIdentifier,
            QoS = qos,
            Dup = dup,
            Retain = (flags & 0x01) != 0,
            Properties = properties,
        };
        return true;
    }

    /// <inheritdoc />
    public int GetEncodedSize(MqttProtocolVersion version) => EncodedSize.Packet(GetRemainingLength(version, out _));

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">QoS is invalid, or QoS 1/2 without a packet identifier.</exception>
    public int Encode(Span<byte> destination, MqttProtocolVersion version)
    {
        int remainingLength = GetRemainingLength(version, out int propertiesLength);
        EncodedSize.EnsureDestination(destination, EncodedSize.Packet(remainingLength));
        byte flags = (byte)(((byte)QoS << 1) | (Dup ? 0x08 : 0) | (Retain ? 0x01 : 0));
        var writer = new MqttWriter(destination);
        writer.WriteFixedHeader(PacketType.Publish, flags, remainingLength);
        writer.WriteBinary(TopicName.Span);
        if (QoS != QualityOfService.AtMostOnce)
        {
            writer.WriteUInt16(PacketIdentifier);
        }

        if (PacketBody.IsVersion5(version))
        {
            if (Properties is null)
            {
                writer.WriteByte(0);
            }
            else
            {
                Properties.Set.WriteWithPrefix(ref writer, propertiesLength);
            }
        }

        writer.WriteBytes(Payload.Span);
        return writer.Position;
    }

    private int GetRemainingLength(MqttProtocolVersion version, out int propertiesLength)
    {
        if ((byte)QoS > 2)
        {
            throw new InvalidOperationException("QoS must be 0, 1 or 2.");
        }

        if (QoS != QualityOfService.AtMostOnce && PacketIdentifier == 0)
        {
            throw new InvalidOperationException("A QoS 1 or 2 PUBLISH needs a non-zero packet identifier.");
        }

        propertiesLength = 0;
        int length = EncodedSize.Binary(TopicName.Length) + (QoS == QualityOfService.AtMostOnce ? 0 : 2) + Payload.Length;
        if (PacketBody.IsVersion5(version))
        {
            length += Properties is null ? 1 : Properties.Set.GetLengthWithPrefix(out propertiesLength);
        }

        return length;
    }
}

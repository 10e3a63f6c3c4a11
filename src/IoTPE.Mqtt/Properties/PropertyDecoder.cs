namespace IoTPE.Mqtt;

/// <summary>
/// Reads a Property Length and the properties after it (spec 2.2.2) into a <see cref="PropertySet"/>, enforcing
/// the spec's rules: identifiers allowed in the packet (else Malformed Packet, 2.2.2.2), no repeats except User
/// Property and PUBLISH's Subscription Identifier (else Protocol Error), and value ranges.
/// </summary>
internal static class PropertyDecoder
{
    /// <summary>Received orders longer than this are not kept (the properties are then re-encoded in ascending order).</summary>
    private const int MaxRecordedOrder = 64;

    public static bool TryDecode(ref MqttReader reader, ulong allowed, out PropertySet set, out MqttDecodeError error)
    {
        set = default;
        if (!reader.TryReadVariableByteInteger(out int length))
        {
            error = reader.End ? DecodeErrors.Truncated : DecodeErrors.InvalidVariableByteInteger;
            return false;
        }

        if (!reader.TryReadBytes(length, out int offset))
        {
            error = DecodeErrors.PropertiesTooLong;
            return false;
        }

        error = default;
        return length == 0 || TryDecodeProperties(new MqttReader(reader.Slice(offset, length)), allowed, ref set, out error);
    }

    private static bool TryDecodeProperties(MqttReader reader, ulong allowed, ref PropertySet set, out MqttDecodeError error)
    {
        ulong seen = 0;
        Span<byte> order = stackalloc byte[MaxRecordedOrder];
        int count = 0;
        bool ascending = true;
        List<UserProperty>? userProperties = null;
        List<uint>? subscriptionIdentifiers = null;
        while (!reader.End)
        {
            // Identifiers are Variable Byte Integers, but every defined one fits in one byte below 0x80.
            reader.TryReadByte(out byte id);
            if (id >= 63 || ((allowed >> id) & 1) == 0)
            {
                error = DecodeErrors.PropertyNotAllowed;
                return false;
            }

            ulong bit = 1UL << id;
            bool repeatable = id == (byte)PropertyIdentifier.UserProperty ||
                (id == (byte)PropertyIdentifier.SubscriptionIdentifier && (allowed & AllowedProperties.MultipleSubscriptionIdentifiers) != 0);
            if ((seen & bit) != 0 && !repeatable)
            {
                error = DecodeErrors.DuplicateProperty;
                return false;
            }

            seen |= bit;
            if (count > 0 && id < order[Math.Min(count, MaxRecordedOrder) - 1])
            {
                ascending = false;
            }

            if (count < MaxRecordedOrder)
            {
                order[count] = id;
            }

            count++;
            if (!TryReadValue(ref reader, (PropertyIdentifier)id, ref set, ref userProperties, ref subscriptionIdentifiers, out error))
            {
                return false;
            }
        }

        set.UserProperties = userProperties;
        set.SubscriptionIdentifiers = subscriptionIdentifiers;
        if (!ascending && count <= MaxRecordedOrder)
        {
            set.Order = order[..count].ToArray();
        }

        if (set.AuthenticationData is not null && set.AuthenticationMethod is null)
        {
            error = DecodeErrors.AuthenticationDataWithoutMethod;
            return false;
        }

        error = default;
        return true;
    }

    private static bool TryReadValue(
        ref MqttReader reader,
        PropertyIdentifier id,
        ref PropertySet set,
        ref List<UserProperty>? userProperties,
        ref List<uint>? subscriptionIdentifiers,
        out MqttDecodeError error)
    {
        error = DecodeErrors.Truncated;
        switch (id)
        {
            case PropertyIdentifier.PayloadFormatIndicator:
            {
                if (!reader.TryReadByte(out byte value))
                {
                    return false;
                }

                if (value > 1)
                {
                    error = DecodeErrors.InvalidPayloadFormatIndicator;
                    return false;
                }

                set.PayloadFormatIndicator = (PayloadFormatIndicator)value;
                return true;
            }

            case PropertyIdentifier.MaximumQoS:
            {
                if (!reader.TryReadByte(out byte value))
                {
                    return false;
                }

                if (value > 1)
                {
                    error = DecodeErrors.InvalidMaximumQoS;
                    return false;
                }

                set.MaximumQoS = (QualityOfService)value;
                return true;
            }

            case PropertyIdentifier.RequestProblemInformation:
                return TryReadBoolean(ref reader, out set.RequestProblemInformation, out error);
            case PropertyIdentifier.RequestResponseInformation:
                return TryReadBoolean(ref reader, out set.RequestResponseInformation, out error);
            case PropertyIdentifier.RetainAvailable:
                return TryReadBoolean(ref reader, out set.RetainAvailable, out error);
            case PropertyIdentifier.WildcardSubscriptionAvailable:
                return TryReadBoolean(ref reader, out set.WildcardSubscriptionAvailable, out error);
            case PropertyIdentifier.SubscriptionIdentifiersAvailable:
                return TryReadBoolean(ref reader, out set.SubscriptionIdentifiersAvailable, out error);
            case PropertyIdentifier.SharedSubscriptionAvailable:
                return TryReadBoolean(ref reader, out set.SharedSubscriptionAvailable, out error);

            case PropertyIdentifier.MessageExpiryInterval:
                return TryReadUInt32(ref reader, out set.MessageExpiryInterval);
            case PropertyIdentifier.SessionExpiryInterval:
                return TryReadUInt32(ref reader, out set.SessionExpiryInterval);
            case PropertyIdentifier.WillDelayInterval:
                return TryReadUInt32(ref reader, out set.WillDelayInterval);
            case PropertyIdentifier.MaximumPacketSize:
                if (!TryReadUInt32(ref reader, out set.MaximumPacketSize))
                {
                    return false;
                }

                if (set.MaximumPacketSize == 0)
                {
                    error = DecodeErrors.MaximumPacketSizeZero;
                    return false;
                }

                return true;

            case PropertyIdentifier.ServerKeepAlive:
                return TryReadUInt16(ref reader, out set.ServerKeepAlive);
            case PropertyIdentifier.TopicAliasMaximum:
                return TryReadUInt16(ref reader, out set.TopicAliasMaximum);
            case PropertyIdentifier.ReceiveMaximum:
                if (!TryReadUInt16(ref reader, out set.ReceiveMaximum))
                {
                    return false;
                }

                if (set.ReceiveMaximum == 0)
                {
                    error = DecodeErrors.ReceiveMaximumZero;
                    return false;
                }

                return true;
            case PropertyIdentifier.TopicAlias:
                if (!TryReadUInt16(ref reader, out set.TopicAlias))
                {
                    return false;
                }

                if (set.TopicAlias == 0)
                {
                    error = DecodeErrors.TopicAliasZero;
                    return false;
                }

                return true;

            case PropertyIdentifier.ContentType:
                return TryReadString(ref reader, out set.ContentType, out error);
            case PropertyIdentifier.AssignedClientIdentifier:
                return TryReadString(ref reader, out set.AssignedClientIdentifier, out error);
            case PropertyIdentifier.AuthenticationMethod:
                return TryReadString(ref reader, out set.AuthenticationMethod, out error);
            case PropertyIdentifier.ResponseInformation:
                return TryReadString(ref reader, out set.ResponseInformation, out error);
            case PropertyIdentifier.ServerReference:
                return TryReadString(ref reader, out set.ServerReference, out error);
            case PropertyIdentifier.ReasonString:
                return TryReadString(ref reader, out set.ReasonString, out error);
            case PropertyIdentifier.ResponseTopic:
            {
                if (!reader.TryReadUtf8(out int offset, out int length, out error))
                {
                    return false;
                }

                // The Response Topic is a Topic Name: no wildcards, not empty [MQTT-3.3.2-13, 3.3.2-14].
                ReadOnlySpan<byte> topic = reader.Slice(offset, length);
                if (!TopicName.IsValid(topic))
                {
                    error = DecodeErrors.InvalidResponseTopic;
                    return false;
                }

                set.ResponseTopic = MqttString.Decode(topic);
                return true;
            }

            case PropertyIdentifier.CorrelationData:
            {
                if (!reader.TryReadBinary(out byte[] value))
                {
                    return false;
                }

                set.CorrelationData = value;
                return true;
            }

            case PropertyIdentifier.AuthenticationData:
            {
                if (!reader.TryReadBinary(out byte[] value))
                {
                    return false;
                }

                set.AuthenticationData = value;
                return true;
            }

            case PropertyIdentifier.SubscriptionIdentifier:
            {
                if (!reader.TryReadVariableByteInteger(out int value))
                {
                    error = reader.End ? DecodeErrors.Truncated : DecodeErrors.InvalidVariableByteInteger;
                    return false;
                }

                if (value == 0)
                {
                    error = DecodeErrors.SubscriptionIdentifierZero;
                    return false;
                }

                (subscriptionIdentifiers ??= []).Add((uint)value);
                return true;
            }

            case PropertyIdentifier.UserProperty:
            {
                if (!reader.TryReadString(out string name, out error) || !reader.TryReadString(out string value, out error))
                {
                    return false;
                }

                (userProperties ??= []).Add(new UserProperty(name, value));
                return true;
            }

            default:
                error = DecodeErrors.PropertyNotAllowed;
                return false;
        }
    }

    private static bool TryReadBoolean(ref MqttReader reader, out bool? value, out MqttDecodeError error)
    {
        value = null;
        if (!reader.TryReadByte(out byte raw))
        {
            error = DecodeErrors.Truncated;
            return false;
        }

        if (raw > 1)
        {
            error = DecodeErrors.InvalidBooleanProperty;
            return false;
        }

        value = raw == 1;
        error = default;
        return true;
    }

    private static bool TryReadUInt32(ref MqttReader reader, out uint? value)
    {
        bool read = reader.TryReadUInt32(out uint raw);
        value = read ? raw : null;
        return read;
    }

    private static bool TryReadUInt16(ref MqttReader reader, out ushort? value)
    {
        bool read = reader.TryReadUInt16(out ushort raw);
        value = read ? raw : null;
        return read;
    }

    private static bool TryReadString(ref MqttReader reader, out string? value, out MqttDecodeError error)
    {
        bool read = reader.TryReadString(out string raw, out error);
        value = read ? raw : null;
        return read;
    }
}

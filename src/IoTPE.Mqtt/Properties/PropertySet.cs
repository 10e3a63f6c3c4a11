namespace IoTPE.Mqtt;

/// <summary>
/// The MQTT 5.0 property values of one packet (or of a will), stored the same way for every packet type so one
/// piece of code sizes and writes them. Packets expose only the members the spec allows them. A null member is
/// absent on the wire. <see cref="Order"/> keeps the order the properties arrived in when it was not ascending,
/// so that re-encoding a decoded packet reproduces its bytes; otherwise properties are written in ascending
/// identifier order (user properties and subscription identifiers in list order).
/// </summary>
internal struct PropertySet
{
    public PayloadFormatIndicator? PayloadFormatIndicator;
    public uint? MessageExpiryInterval;
    public string? ContentType;
    public string? ResponseTopic;
    public byte[]? CorrelationData;
    public IReadOnlyList<uint>? SubscriptionIdentifiers;
    public uint? SessionExpiryInterval;
    public string? AssignedClientIdentifier;
    public ushort? ServerKeepAlive;
    public string? AuthenticationMethod;
    public byte[]? AuthenticationData;
    public bool? RequestProblemInformation;
    public uint? WillDelayInterval;
    public bool? RequestResponseInformation;
    public string? ResponseInformation;
    public string? ServerReference;
    public string? ReasonString;
    public ushort? ReceiveMaximum;
    public ushort? TopicAliasMaximum;
    public ushort? TopicAlias;
    public QualityOfService? MaximumQoS;
    public bool? RetainAvailable;
    public IReadOnlyList<UserProperty>? UserProperties;
    public uint? MaximumPacketSize;
    public bool? WildcardSubscriptionAvailable;
    public bool? SubscriptionIdentifiersAvailable;
    public bool? SharedSubscriptionAvailable;

    /// <summary>Identifiers in received order, one entry per occurrence; null when ascending or unknown.</summary>
    public byte[]? Order;

    private const int HighestIdentifier = (int)PropertyIdentifier.SharedSubscriptionAvailable;

    /// <summary>The user properties, never null.</summary>
    public readonly IReadOnlyList<UserProperty> UserPropertyList => UserProperties ?? [];

    /// <summary>A copy without the received order, for a packet built from another one.</summary>
    public readonly PropertySet WithoutOrder()
    {
        PropertySet copy = this;
        copy.Order = null;
        return copy;
    }

    /// <summary>The encoded size of the properties, without the Property Length prefix.</summary>
    public readonly int GetLength()
    {
        int length = 0;
        for (int id = 1; id <= HighestIdentifier; id++)
        {
            int count = Count((PropertyIdentifier)id);
            if (count == 0)
            {
                continue;
            }

            length += (PropertyIdentifier)id switch
            {
                PropertyIdentifier.PayloadFormatIndicator or PropertyIdentifier.RequestProblemInformation or
                PropertyIdentifier.RequestResponseInformation or PropertyIdentifier.MaximumQoS or
                PropertyIdentifier.RetainAvailable or PropertyIdentifier.WildcardSubscriptionAvailable or
                PropertyIdentifier.SubscriptionIdentifiersAvailable or PropertyIdentifier.SharedSubscriptionAvailable => 2,
                PropertyIdentifier.ServerKeepAlive or PropertyIdentifier.ReceiveMaximum or
                PropertyIdentifier.TopicAliasMaximum or PropertyIdentifier.TopicAlias => 3,
                PropertyIdentifier.MessageExpiryInterval or PropertyIdentifier.SessionExpiryInterval or
                PropertyIdentifier.WillDelayInterval or PropertyIdentifier.MaximumPacketSize => 5,
                PropertyIdentifier.ContentType => 1 + EncodedSize.String(ContentType!),
                PropertyIdentifier.ResponseTopic => 1 + EncodedSize.String(ResponseTopic!),
                PropertyIdentifier.CorrelationData => 1 + EncodedSize.Binary(CorrelationData!.Length),
                PropertyIdentifier.AssignedClientIdentifier => 1 + EncodedSize.String(AssignedClientIdentifier!),
                PropertyIdentifier.AuthenticationMethod => 1 + EncodedSize.String(AuthenticationMethod!),
                PropertyIdentifier.AuthenticationData => 1 + EncodedSize.Binary(AuthenticationData!.Length),
                PropertyIdentifier.ResponseInformation => 1 + EncodedSize.String(ResponseInformation!),
                PropertyIdentifier.ServerReference => 1 + EncodedSize.String(ServerReference!),
                PropertyIdentifier.ReasonString => 1 + EncodedSize.String(ReasonString!),
                PropertyIdentifier.SubscriptionIdentifier => SubscriptionIdentifiersLength(),
                PropertyIdentifier.UserProperty => UserPropertiesLength(),
                _ => 0,
            };
        }

        return length;
    }

    /// <summary>Writes the properties (without the Property Length prefix).</summary>
    public readonly void Write(ref MqttWriter writer)
    {
        int userProperty = 0;
        int subscriptionIdentifier = 0;
        if (Order is { } order && MatchesOrder(order))
        {
            foreach (byte id in order)
            {
                WriteOne(ref writer, (PropertyIdentifier)id, ref userProperty, ref subscriptionIdentifier);
            }

            return;
        }

        for (int id = 1; id <= HighestIdentifier; id++)
        {
            for (int count = Count((PropertyIdentifier)id); count > 0; count--)
            {
                WriteOne(ref writer, (PropertyIdentifier)id, ref userProperty, ref subscriptionIdentifier);
            }
        }
    }

    /// <summary>The Property Length prefix followed by the properties: its size.</summary>
    public readonly int GetLengthWithPrefix(out int length)
    {
        length = GetLength();
        return VariableByteInteger.GetSize(length) + length;
    }

    /// <summary>Writes the Property Length prefix (its value computed by <see cref="GetLengthWithPrefix"/>) and the properties.</summary>
    public readonly void WriteWithPrefix(ref MqttWriter writer, int length)
    {
        writer.WriteVariableByteInteger(length);
        Write(ref writer);
    }

    /// <summary>How many times the property appears.</summary>
    private readonly int Count(PropertyIdentifier id) => id switch
    {
        PropertyIdentifier.PayloadFormatIndicator => PayloadFormatIndicator.HasValue ? 1 : 0,
        PropertyIdentifier.MessageExpiryInterval => MessageExpiryInterval.HasValue ? 1 : 0,
        PropertyIdentifier.ContentType => ContentType is null ? 0 : 1,
        PropertyIdentifier.ResponseTopic => ResponseTopic is null ? 0 : 1,
        PropertyIdentifier.CorrelationData => CorrelationData is null ? 0 : 1,
        PropertyIdentifier.SubscriptionIdentifier => SubscriptionIdentifiers?.Count ?? 0,
        PropertyIdentifier.SessionExpiryInterval => SessionExpiryInterval.HasValue ? 1 : 0,
        PropertyIdentifier.AssignedClientIdentifier => AssignedClientIdentifier is null ? 0 : 1,
        PropertyIdentifier.ServerKeepAlive => ServerKeepAlive.HasValue ? 1 : 0,
        PropertyIdentifier.AuthenticationMethod => AuthenticationMethod is null ? 0 : 1,
        PropertyIdentifier.AuthenticationData => AuthenticationData is null ? 0 : 1,
        PropertyIdentifier.RequestProblemInformation => RequestProblemInformation.HasValue ? 1 : 0,
        PropertyIdentifier.WillDelayInterval => WillDelayInterval.HasValue ? 1 : 0,
        PropertyIdentifier.RequestResponseInformation => RequestResponseInformation.HasValue ? 1 : 0,
        PropertyIdentifier.ResponseInformation => ResponseInformation is null ? 0 : 1,
        PropertyIdentifier.ServerReference => ServerReference is null ? 0 : 1,
        PropertyIdentifier.ReasonString => ReasonString is null ? 0 : 1,
        PropertyIdentifier.ReceiveMaximum => ReceiveMaximum.HasValue ? 1 : 0,
        PropertyIdentifier.TopicAliasMaximum => TopicAliasMaximum.HasValue ? 1 : 0,
        PropertyIdentifier.TopicAlias => TopicAlias.HasValue ? 1 : 0,
        PropertyIdentifier.MaximumQoS => MaximumQoS.HasValue ? 1 : 0,
        PropertyIdentifier.RetainAvailable => RetainAvailable.HasValue ? 1 : 0,
        PropertyIdentifier.UserProperty => UserProperties?.Count ?? 0,
        PropertyIdentifier.MaximumPacketSize => MaximumPacketSize.HasValue ? 1 : 0,
        PropertyIdentifier.WildcardSubscriptionAvailable => WildcardSubscriptionAvailable.HasValue ? 1 : 0,
        PropertyIdentifier.SubscriptionIdentifiersAvailable => SubscriptionIdentifiersAvailable.HasValue ? 1 : 0,
        PropertyIdentifier.SharedSubscriptionAvailable => SharedSubscriptionAvailable.HasValue ? 1 : 0,
        _ => 0,
    };

    /// <summary>Whether the recorded order lists exactly the properties present (it always does for a decoded packet).</summary>
    private readonly bool MatchesOrder(byte[] order)
    {
        Span<int> counts = stackalloc int[HighestIdentifier + 1];
        foreach (byte id in order)
        {
            if (id > HighestIdentifier)
            {
                return false;
            }

            counts[id]++;
        }

        for (int id = 1; id <= HighestIdentifier; id++)
        {
            if (counts[id] != Count((PropertyIdentifier)id))
            {
                return false;
            }
        }

        return true;
    }

    private readonly int SubscriptionIdentifiersLength()
    {
        int length = 0;
        foreach (uint identifier in SubscriptionIdentifiers!)
        {
            length += 1 + VariableByteInteger.GetSize(checked((int)identifier));
        }

        return length;
    }

    private readonly int UserPropertiesLength()
    {
        int length = 0;
        foreach (UserProperty property in UserProperties!)
        {
            length += 1 + EncodedSize.String(property.Name) + EncodedSize.String(property.Value);
        }

        return length;
    }

    private readonly void WriteOne(ref MqttWriter writer, PropertyIdentifier id, ref int userProperty, ref int subscriptionIdentifier)
    {
        writer.WriteByte((byte)id);
        switch (id)
        {
            case PropertyIdentifier.PayloadFormatIndicator: writer.WriteByte((byte)PayloadFormatIndicator!.Value); break;
            case PropertyIdentifier.MessageExpiryInterval: writer.WriteUInt32(MessageExpiryInterval!.Value); break;
            case PropertyIdentifier.ContentType: writer.WriteString(ContentType!); break;
            case PropertyIdentifier.ResponseTopic: writer.WriteString(ResponseTopic!); break;
            case PropertyIdentifier.CorrelationData: writer.WriteBinary(CorrelationData); break;
            case PropertyIdentifier.SubscriptionIdentifier: writer.WriteVariableByteInteger(checked((int)SubscriptionIdentifiers![subscriptionIdentifier++])); break;
            case PropertyIdentifier.SessionExpiryInterval: writer.WriteUInt32(SessionExpiryInterval!.Value); break;
            case PropertyIdentifier.AssignedClientIdentifier: writer.WriteString(AssignedClientIdentifier!); break;
            case PropertyIdentifier.ServerKeepAlive: writer.WriteUInt16(ServerKeepAlive!.Value); break;
            case PropertyIdentifier.AuthenticationMethod: writer.WriteString(AuthenticationMethod!); break;
            case PropertyIdentifier.AuthenticationData: writer.WriteBinary(AuthenticationData); break;
            case PropertyIdentifier.RequestProblemInformation: writer.WriteByte(RequestProblemInformation!.Value ? (byte)1 : (byte)0); break;
            case PropertyIdentifier.WillDelayInterval: writer.WriteUInt32(WillDelayInterval!.Value); break;
            case PropertyIdentifier.RequestResponseInformation: writer.WriteByte(RequestResponseInformation!.Value ? (byte)1 : (byte)0); break;
            case PropertyIdentifier.ResponseInformation: writer.WriteString(ResponseInformation!); break;
            case PropertyIdentifier.ServerReference: writer.WriteString(ServerReference!); break;
            case PropertyIdentifier.ReasonString: writer.WriteString(ReasonString!); break;
            case PropertyIdentifier.ReceiveMaximum: writer.WriteUInt16(ReceiveMaximum!.Value); break;
            case PropertyIdentifier.TopicAliasMaximum: writer.WriteUInt16(TopicAliasMaximum!.Value); break;
            case PropertyIdentifier.TopicAlias: writer.WriteUInt16(TopicAlias!.Value); break;
            case PropertyIdentifier.MaximumQoS: writer.WriteByte((byte)MaximumQoS!.Value); break;
            case PropertyIdentifier.RetainAvailable: writer.WriteByte(RetainAvailable!.Value ? (byte)1 : (byte)0); break;
            case PropertyIdentifier.UserProperty:
                UserProperty property = UserProperties![userProperty++];
                writer.WriteString(property.Name);
                writer.WriteString(property.Value);
                break;
            case PropertyIdentifier.MaximumPacketSize: writer.WriteUInt32(MaximumPacketSize!.Value); break;
            case PropertyIdentifier.WildcardSubscriptionAvailable: writer.WriteByte(WildcardSubscriptionAvailable!.Value ? (byte)1 : (byte)0); break;
            case PropertyIdentifier.SubscriptionIdentifiersAvailable: writer.WriteByte(SubscriptionIdentifiersAvailable!.Value ? (byte)1 : (byte)0); break;
            case PropertyIdentifier.SharedSubscriptionAvailable: writer.WriteByte(SharedSubscriptionAvailable!.Value ? (byte)1 : (byte)0); break;
        }
    }
}

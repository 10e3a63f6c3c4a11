namespace IoTPE.Mqtt;

/// <summary>
/// The MQTT 5.0 properties of a PUBLISH (spec 3.3.2.3). A <see cref="PublishPacket"/> without properties has
/// null instead of an instance, so the common case allocates nothing. Instances are immutable; use the copy
/// constructor with an object initializer to change a few members, e.g. when forwarding to a subscriber:
/// <c>new PublishProperties(received) { TopicAlias = null, SubscriptionIdentifiers = [7] }</c>.
/// Decoded values are copies that stay valid after the input buffer is released.
/// </summary>
public sealed class PublishProperties
{
    private PropertySet _set;

    /// <summary>Creates empty properties; set members with an object initializer.</summary>
    public PublishProperties()
    {
    }

    /// <summary>Creates a copy of <paramref name="other"/>, to be changed with an object initializer.</summary>
    /// <param name="other">The properties to copy.</param>
    public PublishProperties(PublishProperties other)
    {
        ArgumentNullException.ThrowIfNull(other);
        _set = other._set.WithoutOrder();
    }

    internal PublishProperties(in PropertySet set) => _set = set;

    /// <summary>Payload Format Indicator (0x01): whether the payload is UTF-8 character data.</summary>
    public PayloadFormatIndicator? PayloadFormatIndicator { get => _set.PayloadFormatIndicator; init => _set.PayloadFormatIndicator = value; }

    /// <summary>Message Expiry Interval (0x02) in seconds; null means the message does not expire.</summary>
    public uint? MessageExpiryInterval { get => _set.MessageExpiryInterval; init => _set.MessageExpiryInterval = value; }

    /// <summary>Topic Alias (0x23), 1 to the receiver's Topic Alias Maximum; 0 is invalid.</summary>
    public ushort? TopicAlias { get => _set.TopicAlias; init => _set.TopicAlias = value; }

    /// <summary>Response Topic (0x08): the topic name for a response message.</summary>
    public string? ResponseTopic { get => _set.ResponseTopic; init => _set.ResponseTopic = value; }

    /// <summary>Correlation Data (0x09): binary data the requester uses to match a response to its request.</summary>
    public byte[]? CorrelationData { get => _set.CorrelationData; init => _set.CorrelationData = value; }

    /// <summary>User Properties (0x26), in order; empty when none.</summary>
    public IReadOnlyList<UserProperty> UserProperties { get => _set.UserPropertyList; init => _set.UserProperties = value is { Count: > 0 } ? value : null; }

    /// <summary>
    /// Subscription Identifiers (0x0B), 1 to 268,435,455: a PUBLISH from the server carries one per matching
    /// subscription that has an identifier; a PUBLISH from a client carries none [MQTT-3.3.4-6]. Empty when none.
    /// </summary>
    public IReadOnlyList<uint> SubscriptionIdentifiers { get => _set.SubscriptionIdentifiers ?? []; init => _set.SubscriptionIdentifiers = value is { Count: > 0 } ? value : null; }

    /// <summary>Content Type (0x03): describes the payload, e.g. a MIME type.</summary>
    public string? ContentType { get => _set.ContentType; init => _set.ContentType = value; }

    /// <summary>Whether no property is set (such an instance encodes like null).</summary>
    public bool IsEmpty => _set.GetLength() == 0;

    internal ref readonly PropertySet Set => ref _set;
}

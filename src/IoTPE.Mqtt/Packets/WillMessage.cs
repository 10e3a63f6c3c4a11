namespace IoTPE.Mqtt;

/// <summary>
/// The Will Message of a CONNECT (spec 3.1.2.5, 3.1.3.2-3.1.3.4): published by the server when the network
/// connection closes without a DISCONNECT (or with reason 0x04). Properties other than QoS and Retain are 5.0 only.
/// </summary>
public sealed class WillMessage
{
    private PropertySet _set;

    /// <summary>Creates a will; set QoS, Retain and 5.0 properties with an object initializer.</summary>
    /// <param name="topic">The Will Topic, a valid topic name.</param>
    /// <param name="payload">The Will Payload (may be empty).</param>
    public WillMessage(string topic, ReadOnlyMemory<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(topic);
        Topic = topic;
        Payload = payload;
    }

    internal WillMessage(string topic, ReadOnlyMemory<byte> payload, in PropertySet set)
        : this(topic, payload) => _set = set;

    /// <summary>The Will Topic.</summary>
    public string Topic { get; }

    /// <summary>The Will Payload (an owned copy when decoded).</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Will QoS (CONNECT flags bits 4-3).</summary>
    public QualityOfService QoS { get; init; }

    /// <summary>Will Retain (CONNECT flags bit 5).</summary>
    public bool Retain { get; init; }

    /// <summary>Will Delay Interval (0x18) in seconds; absent means 0 (spec 3.1.3.2.2).</summary>
    public uint? WillDelayInterval { get => _set.WillDelayInterval; init => _set.WillDelayInterval = value; }

    /// <summary>Payload Format Indicator (0x01).</summary>
    public PayloadFormatIndicator? PayloadFormatIndicator { get => _set.PayloadFormatIndicator; init => _set.PayloadFormatIndicator = value; }

    /// <summary>Message Expiry Interval (0x02) in seconds; absent means no expiry.</summary>
    public uint? MessageExpiryInterval { get => _set.MessageExpiryInterval; init => _set.MessageExpiryInterval = value; }

    /// <summary>Content Type (0x03).</summary>
    public string? ContentType { get => _set.ContentType; init => _set.ContentType = value; }

    /// <summary>Response Topic (0x08).</summary>
    public string? ResponseTopic { get => _set.ResponseTopic; init => _set.ResponseTopic = value; }

    /// <summary>Correlation Data (0x09).</summary>
    public byte[]? CorrelationData { get => _set.CorrelationData; init => _set.CorrelationData = value; }

    /// <summary>User Properties (0x26), in order; empty when none.</summary>
    public IReadOnlyList<UserProperty> UserProperties { get => _set.UserPropertyList; init => _set.UserProperties = value is { Count: > 0 } ? value : null; }

    internal ref readonly PropertySet Set => ref _set;
}

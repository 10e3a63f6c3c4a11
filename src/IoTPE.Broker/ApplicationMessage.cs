using System.Text;
using IoTPE.Mqtt;

namespace IoTPE.Broker;

/// <summary>
/// An application message as the broker holds it: immutable once routed, and shared by every
/// session it is delivered to (each delivery carries its own QoS, RETAIN flag and packet identifier).
/// </summary>
public sealed class ApplicationMessage
{
    /// <summary>Creates a message.</summary>
    /// <param name="topic">The topic name (no wildcards).</param>
    /// <param name="payload">The payload; the message keeps this array, so do not change it afterwards.</param>
    /// <param name="qos">The QoS it was published with.</param>
    /// <param name="retain">The RETAIN flag it was published with.</param>
    /// <param name="properties">MQTT 5.0 properties passed through to subscribers, or null.</param>
    public ApplicationMessage(string topic, ReadOnlyMemory<byte> payload, QualityOfService qos, bool retain, PublishProperties? properties = null)
        : this(topic, Encoding.UTF8.GetBytes(topic), payload, qos, retain, properties)
    {
    }

    internal ApplicationMessage(string topic, byte[] topicUtf8, ReadOnlyMemory<byte> payload, QualityOfService qos, bool retain, PublishProperties? properties)
    {
        Topic = topic;
        TopicUtf8 = topicUtf8;
        Payload = payload;
        QoS = qos;
        Retain = retain;
        Properties = properties;
    }

    /// <summary>
    /// User Properties whose names start with this are the broker's and the engine's own (e.g. the
    /// hop count of a run request a script published): the broker removes them from every network
    /// client's PUBLISH, so only in-process publishers can set them.
    /// </summary>
    public const string InternalUserPropertyPrefix = "iotpe-internal-";

    /// <summary>The topic name.</summary>
    public string Topic { get; }

    /// <summary>The topic name in UTF-8, as it goes on the wire.</summary>
    public byte[] TopicUtf8 { get; }

    /// <summary>The payload.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The QoS it was published with.</summary>
    public QualityOfService QoS { get; }

    /// <summary>The RETAIN flag it was published with.</summary>
    public bool Retain { get; }

    /// <summary>
    /// MQTT 5.0 properties forwarded to subscribers: Payload Format Indicator, Content Type,
    /// Response Topic, Correlation Data and User Properties. Never a Topic Alias or Subscription
    /// Identifier: those belong to one connection or one subscription.
    /// </summary>
    public PublishProperties? Properties { get; }

    /// <summary>When the message expires (Unix milliseconds), from its Message Expiry Interval, or null.</summary>
    public long? ExpiresAtUnixMs { get; init; }

    /// <summary>The client identifier of the publisher, or null for messages the broker or the engine made.</summary>
    public string? PublisherClientId { get; init; }

    /// <summary>The account (user name) of the publisher, if it authenticated.</summary>
    public string? PublisherUserName { get; init; }

    /// <summary>The message's id in the store, or 0 while it is not stored.</summary>
    internal long StoreId { get; set; }

    /// <summary>
    /// How many stored rows refer to this message: deliveries to persistent sessions and a retained
    /// entry. When it drops to zero the stored message is deleted.
    /// </summary>
    internal int StoreReferences { get; set; }

    /// <summary>
    /// The store commit (epoch) deliveries of this message wait for: the one storing the message or
    /// its publisher's QoS 2 state. 0 when its deliveries wait for nothing.
    /// </summary>
    internal long DurableEpoch { get; set; }
}

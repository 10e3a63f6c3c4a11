using System.Text;
using IoTPE.Broker.Storage;
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

    /// <param name="payloadLength">The payload's length when the message is loaded without it (it is then paged out at once), or -1.</param>
    internal ApplicationMessage(string topic, byte[] topicUtf8, ReadOnlyMemory<byte> payload, QualityOfService qos, bool retain, PublishProperties? properties, int payloadLength = -1)
    {
        Topic = topic;
        TopicUtf8 = topicUtf8;
        _payload = payload;
        PayloadLength = payloadLength >= 0 ? payloadLength : payload.Length;
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

    private ReadOnlyMemory<byte> _payload;
    private ResidentPayloads? _pagedOutTo;

    /// <summary>The payload.</summary>
    /// <remarks>
    /// A stored message's payload may be paged out (see <see cref="ResidentPayloads"/>): then each
    /// read of this property reads it from the store. The broker reads it once per send; in-process
    /// clients get messages whose payload is pinned in memory.
    /// </remarks>
    public ReadOnlyMemory<byte> Payload => _pagedOutTo is { } pager ? pager.Read(this) : _payload;

    /// <summary>The payload's length in bytes, known without reading a paged-out payload.</summary>
    public int PayloadLength { get; }

    /// <summary>True while the payload is on disk only.</summary>
    internal bool IsPagedOut => _pagedOutTo is not null;

    /// <summary>Drops the payload from memory; <paramref name="pager"/> reads it back from the store.</summary>
    internal void PageOut(ResidentPayloads pager)
    {
        _payload = default;
        _pagedOutTo = pager;
    }

    /// <summary>Keeps <paramref name="payload"/> (read back from the store) in memory again.</summary>
    internal void PageIn(ReadOnlyMemory<byte> payload)
    {
        _payload = payload;
        _pagedOutTo = null;
    }

    /// <summary>Links of <see cref="ResidentPayloads"/>' list, oldest first, of stored messages whose payload is in memory.</summary>
    internal ApplicationMessage? ResidentOlder { get; set; }

    /// <inheritdoc cref="ResidentOlder"/>
    internal ApplicationMessage? ResidentNewer { get; set; }

    /// <summary>In <see cref="ResidentPayloads"/>' list.</summary>
    internal bool IsResidentTracked { get; set; }

    /// <summary>The store commit (epoch) that writes the message; its payload may leave memory only once that is durable.</summary>
    internal long StoredEpoch { get; set; }

    /// <summary>Handed to an in-process client, which reads the payload outside the broker lock: it stays in memory.</summary>
    internal bool IsPinned { get; set; }

    /// <summary>
    /// Deliveries of this message queued or in flight to sessions that are not persistent: they
    /// need its payload after the last stored reference is gone, when it could no longer be read back.
    /// </summary>
    internal int MemoryDeliveries { get; set; }

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
    /// When the broker first stored it (Unix milliseconds, the broker's clock), or 0 while it is not
    /// stored or when stored before release 5 of the store: how long a queue's oldest message waited.
    /// </summary>
    public long StoredAtUnixMs { get; internal set; }

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

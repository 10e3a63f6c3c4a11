using IoTPE.Broker.Connections;
using IoTPE.Broker.Routing;
using IoTPE.Broker.Security;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Sessions;

/// <summary>
/// The server side of an MQTT session (MQTT 5.0 §4.1): the client's subscriptions, the QoS 1/2
/// messages queued for it or in flight to it, and the QoS 2 packet identifiers it has in flight to
/// us. A session outlives its network connection when it is persistent (Session Expiry Interval
/// above zero, or CleanSession=0 in 3.1.1). Not thread-safe: used under the broker lock.
/// </summary>
internal sealed class Session
{
    public Session(string key, ClientIdentity identity)
    {
        ClientId = key;
        Identity = identity;
    }

    /// <summary>
    /// The session's key: the client identifier scoped by account (<see cref="SessionKey"/>), as
    /// the session is stored and logged. The client's own identifier is <c>Identity.ClientId</c>.
    /// </summary>
    public string ClientId { get; }

    /// <summary>Who the client is as of its latest CONNECT.</summary>
    public ClientIdentity Identity { get; private set; }

    public MqttProtocolVersion ProtocolVersion { get; private set; }

    /// <summary>Session Expiry Interval in seconds; <see cref="uint.MaxValue"/> means the session never expires.</summary>
    public uint ExpiryIntervalSeconds { get; private set; }

    public bool IsPersistent => ExpiryIntervalSeconds > 0;

    /// <summary>The network (or internal) connection the session is attached to, or null while the client is away.</summary>
    public IClientConnection? Connection { get; private set; }

    public bool IsConnected => Connection is not null;

    /// <summary>When the client went away (Unix ms); null while connected.</summary>
    public long? DisconnectedAtUnixMs { get; private set; }

    /// <summary>
    /// A CONNECT (or an in-process client) takes the session: who it is now, the protocol version,
    /// the Session Expiry Interval it asked for and its will (§3.1.2.4, §3.1.2.5). Under the broker lock.
    /// </summary>
    public void Attach(IClientConnection connection, ClientIdentity identity, MqttProtocolVersion protocolVersion, uint expiryIntervalSeconds, SessionWill? will)
    {
        Identity = identity;
        ProtocolVersion = protocolVersion;
        ExpiryIntervalSeconds = expiryIntervalSeconds;
        DisconnectedAtUnixMs = null;
        Will = will;
        WillDueAtUnixMs = null;
        Connection = connection;
    }

    /// <summary>The connection went away; a persistent session waits for the client from <paramref name="nowUnixMs"/>.</summary>
    public void Detach(long nowUnixMs)
    {
        Connection = null;
        DisconnectedAtUnixMs = nowUnixMs;
    }

    /// <summary>A DISCONNECT changed the Session Expiry Interval (MQTT 5.0 §3.14.2.2.2).</summary>
    public void ChangeExpiry(uint expiryIntervalSeconds) => ExpiryIntervalSeconds = expiryIntervalSeconds;

    /// <summary>Reloads what the store kept of a session that was away when the broker stopped.</summary>
    public void Restore(MqttProtocolVersion protocolVersion, uint expiryIntervalSeconds, long disconnectedAtUnixMs)
    {
        ProtocolVersion = protocolVersion;
        ExpiryIntervalSeconds = expiryIntervalSeconds;
        DisconnectedAtUnixMs = disconnectedAtUnixMs;
    }

    // The collections are created on first use: most connections of a busy gateway are idle
    // devices, and each empty collection would cost memory per connection.
    private Dictionary<string, Subscription>? _subscriptions;
    private Queue<Delivery>? _queued;
    private Dictionary<ushort, Delivery>? _inFlight;
    private HashSet<ushort>? _incomingPacketIdentifiers;

    /// <summary>The client's subscriptions by topic filter (including any <c>$share</c> prefix).</summary>
    public Dictionary<string, Subscription> Subscriptions => _subscriptions ??= new(StringComparer.Ordinal);

    /// <summary>QoS 1/2 deliveries not yet sent, in order.</summary>
    public Queue<Delivery> Queued => _queued ??= new();

    /// <summary>QoS 1/2 deliveries sent and not yet completed, by packet identifier.</summary>
    public Dictionary<ushort, Delivery> InFlight => _inFlight ??= [];

    /// <summary>QoS 2 packet identifiers the client sent us, answered with PUBREC, awaiting PUBREL (§4.3.3).</summary>
    public HashSet<ushort> IncomingPacketIdentifiers => _incomingPacketIdentifiers ??= [];

    public bool HasSubscriptions => _subscriptions is { Count: > 0 };

    public bool HasQueued => _queued is { Count: > 0 };

    public bool HasInFlight => _inFlight is { Count: > 0 };

    /// <summary>The queue beyond what is held in memory, or null when the whole queue is in memory.</summary>
    public SpilledTail? Spilled { get; set; }

    /// <summary>Whether part of the queue is stored only (see <see cref="SpilledTail"/>).</summary>
    public bool HasSpilled => Spilled is { Count: > 0 };

    /// <summary>QoS 1/2 deliveries not yet sent: those in memory (<see cref="Queued"/>) and those spilled to the store.</summary>
    public long QueuedCount => (_queued?.Count ?? 0) + (Spilled?.Count ?? 0);

    /// <summary>The sequence number the next delivery gets.</summary>
    public long NextSequence { get; private set; }

    /// <summary>Hands out the next delivery's sequence number.</summary>
    public long TakeSequence() => NextSequence++;

    /// <summary>A reloaded delivery had <paramref name="sequence"/>: later ones come after it.</summary>
    public void ContinueAfter(long sequence) => NextSequence = Math.Max(NextSequence, sequence + 1);

    /// <summary>The Will Message of the current connection, if any.</summary>
    public SessionWill? Will { get; private set; }

    /// <summary>When a delayed will is due (Unix ms), or null.</summary>
    public long? WillDueAtUnixMs { get; private set; }

    /// <summary>The connection was lost: its will goes out at <paramref name="dueAtUnixMs"/> unless the client returns (§3.1.3.2.2).</summary>
    public void DelayWill(long dueAtUnixMs) => WillDueAtUnixMs = dueAtUnixMs;

    /// <summary>The will was published, cancelled or withdrawn.</summary>
    public void ClearWill()
    {
        Will = null;
        WillDueAtUnixMs = null;
    }

    /// <summary>The newest epoch whose completion <see cref="DurabilityTracker"/> will report to this session (0: none).</summary>
    public long AwaitedEpoch { get; set; }

    /// <summary>The in-process client's own queue bound (the bridge), or null for the broker's <see cref="BrokerOptions.MaxQueuedMessages"/>.</summary>
    public SessionQueueLimit? QueueLimit { get; set; }

    /// <summary>Bytes of deliveries queued and in flight, counted while <see cref="QueueLimit"/> is set.</summary>
    public long QueuedBytes { get; set; }

    /// <summary>QoS 1/2 PUBLISHes refused to their publishers because this session's queue was full.</summary>
    public long RefusedMessages { get; set; }

    /// <summary>Messages dropped for this session because its queue was full.</summary>
    public long DroppedMessages { get; private set; }

    /// <summary>Counts one more dropped message and returns the count (for logging every thousandth).</summary>
    public long CountDropped() => ++DroppedMessages;

    /// <summary>Deliveries in the order they must be resent after a reconnect (§4.4).</summary>
    public IEnumerable<Delivery> InFlightInOrder() => InFlight.Values.OrderBy(d => d.Sequence);
}

namespace IoTPE.Broker.Storage;

/// <summary>
/// The broker's durable state: persistent sessions, their subscriptions, stored messages, the
/// deliveries queued or in flight to persistent sessions, incoming QoS 2 packet identifiers and
/// retained messages.
/// </summary>
/// <remarks>
/// <para>
/// Writes are <em>enqueued</em>, not performed: every write method returns at once, and the store
/// applies enqueued writes in order, many at a time, in one transaction (group commit). The broker
/// calls the write methods only while it holds its own lock, so calls arrive from one thread at a
/// time and in the broker's order; the store must apply them in that order.
/// </para>
/// <para>
/// <see cref="WhenDurable"/> asks for a callback once every write enqueued before it is committed
/// (or has failed). The broker acknowledges a QoS 1/2 PUBLISH (PUBACK/PUBREC) and releases its
/// deliveries only from that callback. Callbacks run on a thread of the store's own (its writer, or
/// one beside it), one at a time, in the order they were requested, and must not block for long.
/// </para>
/// </remarks>
public interface IBrokerStore : IAsyncDisposable
{
    /// <summary>Reads everything the broker needs to resume after a restart. Called once, before any write.</summary>
    StoredBrokerState Load() => Load(int.MaxValue);

    /// <summary>
    /// Reads what the broker needs to resume after a restart, with at most
    /// <paramref name="maxDeliveriesPerSession"/> deliveries of each session: those with the lowest
    /// sequences. Called once, before any write.
    /// </summary>
    /// <remarks>
    /// <see cref="StoredBrokerState.Messages"/> holds every message that a returned delivery or a
    /// retained entry refers to, and every message that more than one delivery refers to (a message
    /// referred to only by one delivery beyond the window is left on disk; the broker reads it with
    /// <see cref="ReadDeliveries"/> when that delivery's turn comes). With <see cref="int.MaxValue"/>
    /// it returns every delivery and every message, as <see cref="Load()"/> does.
    /// </remarks>
    StoredBrokerState Load(int maxDeliveriesPerSession);

    /// <summary>
    /// Reads the committed deliveries of session <paramref name="clientId"/> whose
    /// <see cref="StoredDelivery.Sequence"/> is strictly greater than <paramref name="afterSequence"/>,
    /// in increasing sequence order, at most <paramref name="max"/> of them, each with the message it
    /// refers to (null if that message row is missing). Like <see cref="ReadPayload"/>, it runs at
    /// once on the caller's thread, sees only committed writes, and must not wait for the writer.
    /// </summary>
    /// <remarks>
    /// The queue of a session beyond a window of deliveries lives only in the store and is read back
    /// in pages when the part in memory runs low (docs/architecture.md, "Memory bounded by design").
    /// </remarks>
    IReadOnlyList<StoredQueuedDelivery> ReadDeliveries(string clientId, long afterSequence, int max);

    /// <summary>Creates or replaces a persistent session's record.</summary>
    void SaveSession(StoredSession session);

    /// <summary>Deletes a session with its subscriptions, deliveries and incoming QoS 2 state.</summary>
    void DeleteSession(string clientId);

    /// <summary>Creates or replaces one subscription of a persistent session.</summary>
    void SaveSubscription(StoredSubscription subscription);

    /// <summary>Deletes one subscription of a persistent session.</summary>
    void DeleteSubscription(string clientId, string topicFilter);

    /// <summary>Stores a message. Its <see cref="StoredMessage.Id"/> is chosen by the broker and is unique.</summary>
    void InsertMessage(StoredMessage message);

    /// <summary>Deletes a message no delivery and no retained entry refers to any more.</summary>
    void DeleteMessage(long messageId);

    /// <summary>Queues a message for a persistent session.</summary>
    void InsertDelivery(StoredDelivery delivery);

    /// <summary>
    /// Records that the client acknowledged a QoS 2 delivery with PUBREC, so that after a restart the
    /// broker resends PUBREL rather than the PUBLISH (MQTT 5.0 §4.3.3).
    /// </summary>
    void MarkDeliveryReleased(string clientId, long sequence);

    /// <summary>Deletes a completed (PUBACK/PUBCOMP), expired or dropped delivery.</summary>
    void DeleteDelivery(string clientId, long sequence);

    /// <summary>
    /// Deletes the deliveries of session <paramref name="clientId"/> whose sequence is strictly
    /// greater than <paramref name="afterSequence"/>, and then every message that one of them
    /// referred to and that no other delivery and no retained entry refers to. The broker calls it
    /// for the part of a session's queue that it does not hold in memory, whose messages it does not
    /// track either (the store owns their reference count), before the session is deleted.
    /// </summary>
    void DeleteDeliveriesAfter(string clientId, long afterSequence);

    /// <summary>Records a QoS 2 packet identifier received from a persistent session and answered with PUBREC.</summary>
    void AddIncomingPacketIdentifier(string clientId, ushort packetIdentifier);

    /// <summary>Forgets a QoS 2 packet identifier once PUBREL arrived.</summary>
    void RemoveIncomingPacketIdentifier(string clientId, ushort packetIdentifier);

    /// <summary>Makes <paramref name="messageId"/> the retained message of <paramref name="topic"/>.</summary>
    void SetRetained(string topic, long messageId);

    /// <summary>
    /// Records that message ids up to <paramref name="upTo"/> may be in use, so that
    /// <see cref="StoredBrokerState.MessageIdsReservedUpTo"/> never goes back. Enqueued before the
    /// first message that uses such an id, so it commits with it or before it.
    /// </summary>
    void ReserveMessageIds(long upTo);

    /// <summary>Removes the retained message of <paramref name="topic"/>.</summary>
    void ClearRetained(string topic);

    /// <summary>
    /// Calls <paramref name="callback"/> once every write enqueued before this call is durable
    /// (<see langword="true"/>) or has failed and was rolled back (<see langword="false"/>).
    /// </summary>
    void WhenDurable(Action<bool> callback);

    /// <summary>
    /// Whether the store can leave out writes that are taken back before it commits them (see
    /// <see cref="WhenDurableOrSettled"/>). The broker then hands QoS 1 run requests to an
    /// in-process client that asks for it (the engine) before their commit.
    /// </summary>
    bool SkipsSettledWrites => false;

    /// <summary>
    /// As <see cref="WhenDurable"/>, for writes the broker expects to take back soon: a delivery
    /// handed to an in-process client before its commit, whose acknowledgement deletes it again.
    /// A store that <see cref="SkipsSettledWrites"/> may hold such a lone request up to its commit
    /// delay, and write neither the rows nor their deletes if the deletes come in time; the
    /// callback is then told <see langword="true"/>: nothing is left to make durable.
    /// </summary>
    void WhenDurableOrSettled(Action<bool> callback) => WhenDurable(callback);

    /// <summary>
    /// Called by the broker after each pass, once it has released the broker lock and sent what the
    /// pass sent (the broker's housekeeping ends a pass at least once a second). A store may wake its
    /// writer here rather than inside the pass, where the woken writer would find the broker lock,
    /// which its callbacks take, still held; and a store that holds a settling request
    /// (<see cref="WhenDurableOrSettled"/>) may run its callback here, on the caller's thread, when
    /// the pass took the request's writes back and nothing else is waiting, or have it committed
    /// once the pass ends after its delay.
    /// </summary>
    void OnPassEnded()
    {
    }

    /// <summary>
    /// Reads the payload of a committed message stored with <see cref="StoredMessage.PayloadApart"/>,
    /// or returns null when there is no such message. Unlike the writes, it runs at once, on the
    /// caller's thread, and any thread may call it; it must not wait for the writer.
    /// </summary>
    /// <remarks>
    /// This is how the broker keeps its memory bounded by configuration rather than by traffic: the
    /// payloads of queued and retained messages beyond a budget stay on disk and are read back one
    /// at a time when they are delivered (docs/architecture.md, "Memory bounded by design").
    /// </remarks>
    byte[]? ReadPayload(long messageId);

    /// <summary>Bytes the store occupies on disk (database and write-ahead log).</summary>
    long StoredBytes { get; }
}

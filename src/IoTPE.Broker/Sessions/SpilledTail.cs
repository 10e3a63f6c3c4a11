namespace IoTPE.Broker.Sessions;

/// <summary>
/// The part of a persistent session's queue beyond <see cref="BrokerOptions.MaxResidentDeliveriesPerSession"/>:
/// deliveries stored in the store but not held in memory. They come after every delivery in
/// memory (sequence order), have never been sent, and are read back from the store in pages
/// (<see cref="Storage.IBrokerStore.ReadDeliveries"/>) by the <see cref="DeliverySender"/>.
/// Used under the broker lock.
/// </summary>
/// <remarks>
/// <para>
/// Three kinds of spilled delivery, all counted in <see cref="Count"/> and <see cref="Bytes"/>:
/// those whose rows are not yet durable (<see cref="Uncommitted"/>: kept whole, as a failed commit
/// must take them back and they cannot be read before the commit); those whose message is shared
/// with other references in memory (<see cref="Pinned"/>: the delivery keeps its reference so the
/// message's row is not deleted under it); and the rest, of which only the store knows anything:
/// their messages are referred to by this one delivery row, so the store owns their reference
/// count and a read-back builds the message anew.
/// </para>
/// </remarks>
internal sealed class SpilledTail
{
    /// <summary>Spilled deliveries, whatever their kind.</summary>
    public long Count { get; set; }

    /// <summary>Their bytes as <see cref="AccountQueueQuota.SizeOf"/> counts them (charged to the account and to the session's own limit).</summary>
    public long Bytes { get; set; }

    /// <summary>
    /// Every spilled delivery has a higher sequence than this, and every delivery in memory this one
    /// or a lower: the read-back continues after it.
    /// </summary>
    public long AfterSequence { get; set; }

    /// <summary>Spilled deliveries whose store writes are not yet durable, in sequence (and epoch) order.</summary>
    public Queue<Delivery> Uncommitted { get; } = new();

    private Dictionary<long, Delivery>? _pinned;

    /// <summary>Durable spilled deliveries whose message stays in memory (referred to elsewhere too), by sequence.</summary>
    public Dictionary<long, Delivery> Pinned => _pinned ??= [];

    /// <summary>Whether <see cref="Pinned"/> holds any delivery.</summary>
    public bool HasPinned => _pinned is { Count: > 0 };

    /// <summary>Durable spilled deliveries that may be read back now.</summary>
    public long Committed => Count - Uncommitted.Count;

    /// <summary>Spilled deliveries whose message only the store refers to.</summary>
    public long StoreOwned => Committed - (_pinned?.Count ?? 0);
}

using IoTPE.Broker.Monitoring;

namespace IoTPE.Broker.Storage;

/// <summary>
/// Keeps the payloads of stored messages (queued for persistent sessions, retained) in memory only
/// up to a budget (<see cref="BrokerOptions.MaxResidentPayloadBytes"/>): beyond it the oldest are
/// paged out, and read back from the store each time they are sent. So a backlog for an offline
/// session, or a large set of retained messages, costs disk rather than memory, whatever its size.
/// Used under the broker lock.
/// </summary>
/// <remarks>
/// <para>
/// Oldest first is the right order for queues: the newest messages of a backlog are the last to be
/// delivered, and a message that is delivered at once (the usual case) leaves before it is old.
/// The list is intrusive (links in <see cref="ApplicationMessage"/>), so tracking costs no
/// allocation on the publish path.
/// </para>
/// <para>
/// A payload is paged out only once the commit that wrote it is durable (it could not be read back
/// before), and never when that commit failed. Messages handed to in-process clients are pinned:
/// those read the payload outside the broker lock, and their own queues bound how many they hold.
/// </para>
/// </remarks>
internal sealed class ResidentPayloads(IBrokerStore store, long budgetBytes, BrokerCounters counters)
{
    /// <summary>
    /// Bytes paged out after which a background collection is requested: the paged-out arrays are garbage (those of
    /// 85,000 bytes and more on the large object heap), and the GC's own budget for that heap let about 400 MB of them
    /// pile up while 1 MB messages were queued for an offline session (memory-bench, issue 12).
    /// </summary>
    internal const long CollectAfterPagedOutBytes = 16L * 1024 * 1024;

    private ApplicationMessage? _oldest;
    private ApplicationMessage? _newest;
    private long _pagedOutSinceCollect;

    /// <summary>Bytes of tracked payloads in memory.</summary>
    public long Bytes { get; private set; }

    /// <summary>A message was just stored, by the commit of <paramref name="epoch"/>: its payload counts against the budget.</summary>
    public void Track(ApplicationMessage message, long epoch)
    {
        if (message.IsPinned || message.IsResidentTracked || message.IsPagedOut || message.PayloadLength == 0)
        {
            return;
        }
        message.StoredEpoch = epoch;
        message.IsResidentTracked = true;
        message.ResidentOlder = _newest;
        message.ResidentNewer = null;
        if (_newest is null)
        {
            _oldest = message;
        }
        else
        {
            _newest.ResidentNewer = message;
        }
        _newest = message;
        Bytes += message.PayloadLength;
        counters.ResidentPayloadBytes = Bytes;
    }

    /// <summary>The message leaves the store or memory management (deleted, pinned): forget it.</summary>
    public void Untrack(ApplicationMessage message)
    {
        if (!message.IsResidentTracked)
        {
            return;
        }
        if (message.ResidentOlder is { } older)
        {
            older.ResidentNewer = message.ResidentNewer;
        }
        else
        {
            _oldest = message.ResidentNewer;
        }
        if (message.ResidentNewer is { } newer)
        {
            newer.ResidentOlder = message.ResidentOlder;
        }
        else
        {
            _newest = message.ResidentOlder;
        }
        message.ResidentOlder = null;
        message.ResidentNewer = null;
        message.IsResidentTracked = false;
        Bytes -= message.PayloadLength;
        counters.ResidentPayloadBytes = Bytes;
    }

    /// <summary>
    /// The commit of <paramref name="epoch"/> completed. When it failed, its messages are not in the
    /// store, so their payloads must stay in memory; when it succeeded, payloads beyond the budget go.
    /// </summary>
    public void OnCommitted(long epoch, bool durable)
    {
        if (!durable)
        {
            // The list is in epoch order: this epoch's messages are among the newest.
            ApplicationMessage? message = _newest;
            while (message is not null && message.StoredEpoch >= epoch)
            {
                ApplicationMessage? older = message.ResidentOlder;
                if (message.StoredEpoch == epoch)
                {
                    Untrack(message);
                }
                message = older;
            }
            return;
        }
        while (Bytes > budgetBytes && _oldest is { } oldest && oldest.StoredEpoch <= epoch)
        {
            Untrack(oldest);
            oldest.PageOut(this);
            counters.PayloadsPagedOut++;
            _pagedOutSinceCollect += oldest.PayloadLength;
        }
        if (_pagedOutSinceCollect >= CollectAfterPagedOutBytes)
        {
            _pagedOutSinceCollect = 0;
            // Non-blocking: with concurrent GC (the default) this starts a background collection and returns, so the
            // broker lock is not held through it. A backlog of 64-byte messages asks once per 250,000 paged out.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: false);
        }
    }

    /// <summary>
    /// <paramref name="message"/> goes to an in-process client with <paramref name="payload"/> (the
    /// caller read it back if it was paged out): it stays in memory from now on.
    /// </summary>
    public void Pin(ApplicationMessage message, ReadOnlyMemory<byte> payload)
    {
        if (message.IsPinned)
        {
            return;
        }
        message.IsPinned = true;
        Untrack(message);
        if (message.IsPagedOut)
        {
            message.PageIn(payload);
        }
    }

    /// <summary>
    /// The last stored reference to <paramref name="message"/> is going, and its row with it: if a
    /// delivery to a session that is not persistent still needs the payload, it comes back to memory
    /// first. If the store cannot give it back now, those deliveries will find it missing and drop it.
    /// </summary>
    public void OnDeleting(ApplicationMessage message)
    {
        Untrack(message);
        if (message.IsPagedOut && message.MemoryDeliveries > 0 && TryRead(message, out ReadOnlyMemory<byte> payload, out _) == PayloadReadResult.Read)
        {
            message.PageIn(payload);
        }
    }

    /// <summary>
    /// The payload to send <paramref name="message"/> with: its own when it is in memory, else read
    /// back from the store (one read per send; it is not kept). Never throws for the store: a failed
    /// read is <see cref="PayloadReadResult.Unavailable"/>, with the store's exception in <paramref name="failure"/>.
    /// </summary>
    public PayloadReadResult TryRead(ApplicationMessage message, out ReadOnlyMemory<byte> payload, out Exception? failure)
    {
        failure = null;
        if (!message.IsPagedOut)
        {
            payload = message.Payload;
            return PayloadReadResult.Read;
        }
        payload = default;
        counters.PayloadsReadBack++;
        byte[]? read;
        try
        {
            read = store.ReadPayload(message.StoreId);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            failure = e;
            return PayloadReadResult.Unavailable;
        }
        if (read is null)
        {
            return PayloadReadResult.Missing;
        }
        payload = read;
        return PayloadReadResult.Read;
    }

    /// <summary>
    /// Reads a paged-out payload back for <see cref="ApplicationMessage.Payload"/>, which has no way
    /// to report a failure but an exception: the broker itself sends through <see cref="TryRead"/>.
    /// </summary>
    /// <exception cref="IOException">The store does not hold the payload or could not be read.</exception>
    public ReadOnlyMemory<byte> Read(ApplicationMessage message) =>
        TryRead(message, out ReadOnlyMemory<byte> payload, out Exception? failure) switch
        {
            PayloadReadResult.Read => payload,
            PayloadReadResult.Missing => throw new IOException($"The payload of stored message {message.StoreId} ({message.Topic}) is not in the store."),
            _ => throw new IOException($"The payload of stored message {message.StoreId} ({message.Topic}) could not be read: {failure!.Message}", failure),
        };
}

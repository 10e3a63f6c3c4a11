using IoTPE.Broker.Connections;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Routing;
using IoTPE.Broker.Security;
using IoTPE.Broker.Sessions;
using IoTPE.Broker.Storage;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker;

/// <summary>
/// Everything the broker knows, behind one lock. Every change to sessions, subscriptions,
/// retained messages and flows happens in a <em>pass</em>: a stretch of work under <see cref="Lock"/>
/// (one read from a client, one store commit, one timer tick). At the end of a pass the broker
/// asks the store for one durability callback covering the pass's writes, releases the lock, and
/// only then writes to the sockets of the connections the pass wrote to.
/// </summary>
internal sealed class BrokerState
{
    private readonly List<IFlushable> _dirty = [];
    [ThreadStatic] private static IFlushable[]? t_flushBuffer; // EndPassAndUnlock's, between passes of this thread
    private long _nextMessageId;

    public BrokerState(BrokerOptions options, IBrokerStore store, IAuthorizer authorizer, ILogger log, TimeProvider time)
    {
        Options = options;
        Store = new WriteTrackingStore(store);
        Authorizer = authorizer;
        Log = log;
        Time = time;
        Durability = new DurabilityTracker(this);
        PendingConnections = new PendingConnections(options.MaxPendingConnections, options.MaxPendingConnectionsPerAddress);
        QueueQuota = new AccountQueueQuota(options.MaxQueuedBytesPerAccount, log);
        Payloads = new ResidentPayloads(Store, options.MaxResidentPayloadBytes, Counters);
    }

    /// <summary>
    /// Sends a session's queued deliveries that its connection held back (see
    /// <see cref="IClientConnection.HoldsBackDeliveries"/>); set by the <see cref="DeliverySender"/>. Under the lock.
    /// </summary>
    public Action<Session>? ResumeDeliveries { get; set; }

    /// <summary>Which stored messages keep their payload in memory.</summary>
    public ResidentPayloads Payloads { get; }

    /// <summary>Bytes queued for each account's sessions.</summary>
    public AccountQueueQuota QueueQuota { get; }

    /// <summary>What waits for the store's commits.</summary>
    public DurabilityTracker Durability { get; }

    public Lock Lock { get; } = new();

    public BrokerOptions Options { get; }

    public WriteTrackingStore Store { get; }

    public IAuthorizer Authorizer { get; }

    public IMessageInterceptor? Interceptor { get; set; }

    public IRetainedQuota? RetainedQuota { get; set; }

    /// <summary>The free-space watch of the data folder; null: writes are never refused for space.</summary>
    public DiskReserve? DiskReserve { get; set; }

    public ILogger Log { get; }

    public TimeProvider Time { get; }

    public BrokerCounters Counters { get; } = new();

    public Dictionary<string, Session> Sessions { get; } = new(StringComparer.Ordinal);

    public SubscriptionTree Subscriptions { get; } = new();

    public RetainedMessageTree Retained { get; } = new();

    /// <summary>Network connections, connected or still in CONNECT.</summary>
    public HashSet<NetworkConnection> Connections { get; } = [];

    /// <summary>The connections among <see cref="Connections"/> that have not completed CONNECT.</summary>
    public PendingConnections PendingConnections { get; }

    private TaskCompletionSource? _connectionsGone;

    /// <summary>Forgets a connection whose read loop ended.</summary>
    public void RemoveConnection(NetworkConnection connection)
    {
        Connections.Remove(connection);
        PendingConnections.Remove(connection);
        if (Connections.Count == 0)
        {
            _connectionsGone?.TrySetResult();
        }
    }

    /// <summary>Completes once no network connection is left. Called under the lock.</summary>
    public Task WhenNoConnections()
    {
        if (Connections.Count == 0)
        {
            return Task.CompletedTask;
        }
        _connectionsGone ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _connectionsGone.Task;
    }

    public long NowUnixMs => Time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>May this session receive a message on <paramref name="topic"/> now? In-process clients always may.</summary>
    public bool MayReceive(Session session, string topic) => session.Identity.IsInternal || Authorizer.CanReceive(session.Identity, topic);

    /// <summary>Store ids are chosen here, so that storing never needs a round trip.</summary>
    // Ids are reserved in the store a block at a time, one small write per block, so that none is
    // handed out twice, not even across a restart (StoredBrokerState.MessageIdsReservedUpTo).
    private const long MessageIdBlock = 100_000;
    private long _messageIdsReservedUpTo;

    public long NextMessageId()
    {
        long id = ++_nextMessageId;
        if (id > _messageIdsReservedUpTo)
        {
            _messageIdsReservedUpTo = id + MessageIdBlock - 1;
            Store.ReserveMessageIds(_messageIdsReservedUpTo);
        }
        return id;
    }

    public void ContinueMessageIdsAfter(long id) => _nextMessageId = Math.Max(_nextMessageId, id);

    /// <summary>Remembers that <paramref name="connection"/> has bytes to send at the end of the pass.</summary>
    public void MarkDirty(IFlushable connection)
    {
        if (!connection.IsMarkedDirty)
        {
            connection.IsMarkedDirty = true;
            _dirty.Add(connection);
        }
    }

    private int _publishersPaused;

    /// <summary>
    /// Connections whose reads are paused right now for a congested consumer or for the store's
    /// commits (<see cref="BrokerOptions.MaxUncommittedPayloadBytes"/>); tests observe the pause through it.
    /// </summary>
    public int PublishersPaused => Volatile.Read(ref _publishersPaused);

    /// <summary>Counts a connection's pause: +1 when it starts, -1 when it ends. Only paused connections call it.</summary>
    public void CountPublisherPause(int change) => Interlocked.Add(ref _publishersPaused, change);

    /// <summary>A subscriber this pass sent to that is not keeping up; the publishing connection waits for it (see <see cref="BrokerOptions.OutputBackpressureBytes"/>).</summary>
    public IClientConnection? CongestedConsumer { get; set; }

    /// <summary>Runs <paramref name="work"/> as one pass.</summary>
    public void RunPass(Action work)
    {
        Lock.Enter();
        try
        {
            work();
        }
        finally
        {
            EndPassAndUnlock();
        }
    }

    /// <summary>Ends the pass the caller started with <c>Lock.Enter()</c>: asks for the durability callback, unlocks, flushes, and tells the store (<see cref="IBrokerStore.OnPassEnded"/>).</summary>
    public void EndPassAndUnlock()
    {
        IFlushable[]? toFlush = null;
        int count = 0;
        try
        {
            CongestedConsumer = null;
            Durability.EndPass(); // may send (acknowledgements completed at once)
            count = _dirty.Count;
            if (count > 0)
            {
                // Taken, not borrowed: a flush may end another pass on this thread (a send that completes
                // inline resumes deliveries), which then finds none and makes its own. ArrayPool<T>.Shared
                // for a reference type looked its pool up through a generic dictionary on every pass.
                toFlush = t_flushBuffer is { } spare && spare.Length >= count ? spare : new IFlushable[Math.Max(count, 16)];
                t_flushBuffer = null;
                for (int i = 0; i < count; i++)
                {
                    toFlush[i] = _dirty[i];
                    _dirty[i].IsMarkedDirty = false;
                }
                _dirty.Clear();
            }
        }
        finally
        {
            Lock.Exit();
        }
        if (toFlush is not null)
        {
            for (int i = 0; i < count; i++)
            {
                toFlush[i].Flush();
                toFlush[i] = null!;
            }
            t_flushBuffer = toFlush;
        }
        Store.OnPassEnded();
    }
}

/// <summary>A connection whose buffered output is sent at the end of a pass.</summary>
internal interface IFlushable
{
    /// <summary>Set and cleared by <see cref="BrokerState"/> only, under its lock.</summary>
    bool IsMarkedDirty { get; set; }

    /// <summary>Starts sending buffered output. Called outside the broker lock.</summary>
    void Flush();
}

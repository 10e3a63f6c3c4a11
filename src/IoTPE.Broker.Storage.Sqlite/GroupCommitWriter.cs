using System.Diagnostics;
using System.Globalization;
using IoTPE.Sqlite;
using IoTPE.Threading;
using SQLitePCL;

namespace IoTPE.Broker.Storage.Sqlite;

/// <summary>
/// The store's single writer: a dedicated thread that takes everything enqueued so far, applies it
/// in order in one transaction, commits, then runs that batch's <c>WhenDurable</c> callbacks in
/// request order. While it commits, new work accumulates for the next batch, so the cost of a sync
/// is shared by every write that arrived during the previous one (group commit). When awaited writes
/// come too far apart for that but closer than the commit delay, a lone one waits for the next
/// (see GatheringTime). A lone request whose writes the broker expects to take back (a run request
/// the engine is running, <c>WhenDurableOrSettled</c>) is held up to the same delay for that, and
/// what was taken back is not written at all (<see cref="SettledWrites"/>). Once the broker reports
/// the end of its passes (<see cref="PassEnded"/>), wake-ups are decided there, outside the broker
/// lock, and a held request costs the writer no wake-up unless it outlives the delay.
/// </summary>
/// <remarks>
/// <para>
/// A callback covers the writes enqueued between the previous callback request and its own, and is
/// told <see langword="true"/> only if all of them committed. A batch that fails as a whole (disk
/// full, I/O error, busy) is rolled back, so every callback covering one of its writes is told
/// <see langword="false"/> (all of the batch's callbacks but those before its first write); writes
/// after its last callback are lost too, so the next callback is told <see langword="false"/> even if
/// its own batch commits. A write that fails alone (a constraint violation) is skipped and
/// the callback covering it is told <see langword="false"/>; the rest of the batch commits.
/// Failures are logged, never thrown: there is nobody on this thread to catch them.
/// </para>
/// </remarks>
internal sealed class GroupCommitWriter
{
    private const int InitialBatchCapacity = 1024;

    /// <summary>How long a write nobody waits for may stay uncommitted (see TakeBatch).</summary>
    internal static readonly TimeSpan UnawaitedWritesDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>Unawaited writes committed without waiting any longer: bounds a batch's memory.</summary>
    private const int UnawaitedBatchLimit = 4096;

    private enum WriterWait
    {
        /// <summary>Not waiting: working, or woken.</summary>
        None,

        /// <summary>Nothing to do: any write wakes it.</summary>
        UntilAnyWrite,

        /// <summary>Holding unawaited writes (or just committed): only an awaited write or the batch limit wakes it.</summary>
        Lingering,

        /// <summary>Holding one awaited write for company (the commit delay): a second one or the batch limit wakes it.</summary>
        Gathering,

        /// <summary>Holding one settling request (the commit delay): a message deleted (at the end of its pass), a second awaited write or the batch limit wakes it.</summary>
        Settling,
    }

    /// <summary>Weight of the newest interval in the running average of awaited writes' spacing: 1/8.</summary>
    private const int IntervalAverageShift = 3;

    /// <summary>Awaited writes committed without gathering after a gathering found no company (doubling, see GatheringTime).</summary>
    private const int MinimumGatheringSkip = 8;

    /// <summary>The most awaited writes committed without gathering after gatherings kept finding no company.</summary>
    private const int MaximumGatheringSkip = 1024;

    // The writer sleeps on _wake, which callers set after they released _gate: woken inside the gate
    // (Monitor.Pulse), it found the gate held and slept again, several context switches per commit.
    private readonly Lock _gate = new();
    private readonly WakeSignal _wake = new();
    private readonly Lock _connectionLock;
    private readonly SqliteDatabase _database;
    private readonly BrokerWriteStatements _statements;
    private readonly SqliteStatement _begin;
    private readonly SqliteStatement _commit;
    private readonly SqliteStatement _rollback;
    private readonly SqliteStatement _freePages;
    private readonly long _pageSize;
    private readonly long _commitDelayTicks;
    private readonly StoreFootprint _footprint;
    private readonly ThrottledFailureLog _batchFailures;
    private readonly ThrottledFailureLog _callbackFailures;
    private readonly Action _closeStore;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<PendingCallback> _callbacks = [];
    private readonly SettledWrites _settled = new();
    private StoreOperationBuffer _incoming = new(InitialBatchCapacity);
    private StoreOperationBuffer _applying = new(InitialBatchCapacity);
    private bool _stopRequested;
    private WriterWait _writerWait;
    private int _incomingAwaited; // WhenDurable requests in _incoming
    private int _incomingSettling; // of those, WhenDurableOrSettled requests
    private bool _settleSeen; // a message was deleted after a settling request in _incoming
    private bool _passMode; // the broker reports the end of its passes: wake-ups are decided there (PassEnded)
    private volatile bool _passEndDue; // something for PassEnded to decide
    private volatile bool _holding; // a lone settling request is left with the writer asleep: PassEnded looks at every pass end
    private readonly SettledWrites _incomingTakeBack = new(); // PassEnded's, under _gate
    private readonly Lock _callbackOrder = new(); // callbacks run one at a time, in order, by the writer or PassEnded
    private bool _applyingSettles; // the batch being applied had settling requests: look for settled writes
    private long _firstUnawaitedWrite;
    private long _lastAwaitedWrite; // with one awaited write queued, when it came
    private long _awaitedIntervalTicks = Stopwatch.Frequency; // running average, at most a second: "far apart" until measured
    private bool _gathering; // the writer is holding the awaited write in _incoming for company
    private int _gatheringSkip; // awaited writes still to commit without gathering
    private int _gatheringSkipAfterFailure = MinimumGatheringSkip;
    private long _lastBatchTaken; // when the writer last took a batch to commit
    private bool _paused;
    private bool _uncoveredFailure;
    private long _commitCount;
    private long _failedBatchCount;
    private long _settledWriteCount;

    /// <summary>Prepares the transaction statements and starts the writer thread.</summary>
    /// <param name="database">The connection; used under <paramref name="connectionLock"/> only.</param>
    /// <param name="connectionLock">Held while a batch is applied, so that other users of the connection wait.</param>
    /// <param name="statements">The prepared write statements.</param>
    /// <param name="footprint">Refreshed after each commit.</param>
    /// <param name="log">Where failures go.</param>
    /// <param name="closeStore">Runs on the writer thread once the last batch is done.</param>
    /// <param name="commitDelay">How long an awaited write may wait for company (<see cref="SqliteBrokerStoreOptions.CommitDelay"/>).</param>
    public GroupCommitWriter(SqliteDatabase database, Lock connectionLock, BrokerWriteStatements statements, StoreFootprint footprint, Action<string> log, Action closeStore, TimeSpan commitDelay)
    {
        _commitDelayTicks = (long)(Math.Max(commitDelay.TotalSeconds, 0) * Stopwatch.Frequency);
        _database = database;
        _connectionLock = connectionLock;
        _statements = statements;
        _footprint = footprint;
        _closeStore = closeStore;
        _batchFailures = new ThrottledFailureLog(ThrottledFailureLog.Guard(log), TimeSpan.FromSeconds(1));
        _callbackFailures = new ThrottledFailureLog(ThrottledFailureLog.Guard(log), TimeSpan.FromSeconds(1));
        _begin = database.Prepare("BEGIN IMMEDIATE");
        _commit = database.Prepare("COMMIT");
        _rollback = database.Prepare("ROLLBACK");
        _freePages = database.Prepare("PRAGMA freelist_count");
        _pageSize = database.QueryInt64("PRAGMA page_size") ?? 4096;
        MeasureReusableSpace();
        _thread = new Thread(Run) { Name = "IoTPE SQLite writer", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Transactions committed so far.</summary>
    public long CommitCount => Interlocked.Read(ref _commitCount);

    /// <summary>Batches rolled back so far.</summary>
    public long FailedBatchCount => Interlocked.Read(ref _failedBatchCount);

    /// <summary>Whether a lone settling request is held for its writes to be taken back: with a commit delay.</summary>
    public bool HoldsSettlingWrites => _commitDelayTicks > 0;

    /// <summary>Writes left out because their batch took them back (<see cref="SettledWrites"/>), so far.</summary>
    public long SettledWriteCount => Interlocked.Read(ref _settledWriteCount);

    /// <summary>True when the caller is the writer thread (e.g. inside a callback).</summary>
    public bool IsWriterThread => Thread.CurrentThread == _thread;

    /// <summary>Completes when the writer has applied everything, run the last callbacks and closed the store.</summary>
    public Task Stopped => _stopped.Task;

    /// <summary>Queues an operation for the next batch.</summary>
    /// <exception cref="ObjectDisposedException">The store is being disposed.</exception>
    public void Enqueue(in StoreOperation operation)
    {
        bool wake = false;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopRequested, typeof(SqliteBrokerStore));
            _incoming.Add(operation);
            if (operation.Kind == StoreOperationKind.WhenDurable)
            {
                NoteAwaitedWrite();
                _incomingSettling += operation.Number == QueuedWritesBrokerStore.SettlingCallback ? 1 : 0;
            }
            else if (operation.Kind == StoreOperationKind.DeleteMessage && _incomingSettling > 0)
            {
                // The last write of an acknowledged delivery: most likely the settling request's. It is
                // looked at when the caller's pass has ended (PassEnded), not here: a writer woken now
                // would run at once on this core and find the broker lock, which its callbacks need,
                // held by the thread it preempted.
                _settleSeen = true;
                _passEndDue = true;
            }
            else if (_incoming.Count == 1)
            {
                _firstUnawaitedWrite = Stopwatch.GetTimestamp();
            }
            // A write nobody waits for does not wake a writer that lingers after a commit: it is
            // committed with the next awaited one, or when the linger ends (TakeBatch). A writer
            // gathering company for one awaited write waits for a second one.
            if (_writerWait == WriterWait.UntilAnyWrite
                || (_writerWait == WriterWait.Lingering && (_incomingAwaited > 0 || _incoming.Count >= UnawaitedBatchLimit))
                || (_writerWait == WriterWait.Gathering && (_incomingAwaited > 1 || _incoming.Count >= UnawaitedBatchLimit))
                || (_writerWait == WriterWait.Settling && (_incomingAwaited > 1 || _incoming.Count >= UnawaitedBatchLimit)))
            {
                if (_passMode)
                {
                    // Decided when the caller's pass has ended, outside the broker lock (PassEnded).
                    _passEndDue = true;
                }
                else
                {
                    _writerWait = WriterWait.None;
                    wake = true;
                }
            }
        }
        if (wake)
        {
            _wake.Set();
        }
    }

    /// <summary>
    /// The broker's pass that enqueued writes has ended and released the broker lock
    /// (<see cref="IBrokerStore.OnPassEnded"/>). From the first call on, the writer is woken here
    /// instead of from inside the pass, and a lone settling request is handled here:
    /// <list type="bullet">
    /// <item>taken back already (its rows deleted), with the writer idle between batches: its callback
    /// is run here, on the caller's thread, with nothing written and the writer left asleep;</item>
    /// <item>still running and younger than the commit delay: the writer is left asleep (no timer):
    /// the first pass that ends after the delay (any traffic, or the broker's housekeeping once a
    /// second) wakes it to commit the request;</item>
    /// <item>anything else: the writer is woken as a write would have woken it.</item>
    /// </list>
    /// </summary>
    public void PassEnded()
    {
        if (!_passMode)
        {
            lock (_gate)
            {
                _passMode = true;
            }
        }
        if (!_passEndDue && !_holding)
        {
            return;
        }
        Action<bool>? settled = null;
        bool wake = false;
        lock (_gate)
        {
            _passEndDue = false;
            bool betweenBatches = _writerWait != WriterWait.None && !_paused && !_stopRequested;
            if (!betweenBatches)
            {
                // At work, or woken already: it looks at what is queued by itself.
            }
            else if (_settleSeen && TakeSettledRequest(out settled))
            {
                _holding = false;
            }
            else if (_incomingAwaited == 1 && _incomingSettling == 1 && !_settleSeen &&
                     Stopwatch.GetTimestamp() - _lastAwaitedWrite < _commitDelayTicks)
            {
                _holding = true;
            }
            else if (_incoming.Count > 0)
            {
                _holding = false;
                _writerWait = WriterWait.None;
                wake = true;
            }
        }
        if (settled is not null)
        {
            try
            {
                RunCallback(settled, durable: true);
            }
            finally
            {
                _callbackOrder.Exit();
            }
        }
        if (wake)
        {
            _wake.Set();
        }
    }

    /// <summary>
    /// Under _gate, with the writer between batches: if everything queued is one settling request
    /// and the writes that took it back, empties the queue and returns the request's callback, with
    /// the callbacks' order taken (released once the callback has run). Callbacks of earlier batches
    /// have all run (the writer is between batches), and a later batch's callbacks wait for this one.
    /// </summary>
    private bool TakeSettledRequest(out Action<bool>? callback)
    {
        callback = null;
        if (_incomingAwaited != 1 || _incomingSettling != 1 || _incomingTakeBack.Find(_incoming) != _incoming.Count - 1)
        {
            return false;
        }
        for (int i = 0; i < _incoming.Count; i++)
        {
            if (_incoming[i].Kind == StoreOperationKind.WhenDurable)
            {
                callback = (Action<bool>)_incoming[i].Reference!;
            }
        }
        if (callback is null || !_callbackOrder.TryEnter())
        {
            callback = null;
            return false;
        }
        Interlocked.Add(ref _settledWriteCount, _incoming.Count - 1);
        _incoming.Clear();
        _incomingAwaited = 0;
        _incomingSettling = 0;
        _settleSeen = false;
        return true;
    }

    // Under _gate: counts an awaited write and keeps the running average of their spacing.
    private void NoteAwaitedWrite()
    {
        long now = Stopwatch.GetTimestamp();
        _incomingAwaited++;
        if (_lastAwaitedWrite != 0)
        {
            // A pause longer than a second counts as one second, so that the average forgets a quiet
            // spell within a few writes once traffic returns.
            long interval = Math.Min(now - _lastAwaitedWrite, Stopwatch.Frequency);
            _awaitedIntervalTicks += (interval - _awaitedIntervalTicks) >> IntervalAverageShift;
        }
        _lastAwaitedWrite = now;
    }

    /// <summary>Refuses further operations and lets the writer finish what is queued, then stop.</summary>
    public void RequestStop()
    {
        lock (_gate)
        {
            _stopRequested = true;
            _paused = false;
            _writerWait = WriterWait.None;
        }
        _wake.Set();
    }

    /// <summary>Test hook: holds queued operations back, so that what is enqueued meanwhile forms one batch.</summary>
    internal void Pause()
    {
        lock (_gate)
        {
            _paused = true;
        }
    }

    /// <summary>Test hook: lets the writer take what was queued while paused.</summary>
    internal void Resume()
    {
        lock (_gate)
        {
            _paused = false;
            _writerWait = WriterWait.None;
        }
        _wake.Set();
    }

    private void Run()
    {
        try
        {
            while (TakeBatch())
            {
                ProcessBatch(_applying);
                _applying.Clear();
            }
        }
        finally
        {
            try
            {
                _closeStore();
            }
            catch (Exception exception)
            {
                _batchFailures.Report($"SQLite broker store: closing failed with {exception.GetType().Name}: {exception.Message}");
            }
            _wake.Dispose();
            _stopped.TrySetResult();
        }
    }

    /// <summary>Waits for work and swaps the buffers; false once stopped with nothing left.</summary>
    private bool TakeBatch()
    {
        while (true)
        {
            TimeSpan wait;
            lock (_gate)
            {
                if (_stopRequested || (!_paused && _incoming.Count >= UnawaitedBatchLimit))
                {
                    return SwapBuffers();
                }
                long now = Stopwatch.GetTimestamp();
                if (!_paused && _incomingAwaited > 0)
                {
                    bool settling = _incomingAwaited == 1 && _incomingSettling == 1;
                    wait = settling ? SettlingTime(now) : GatheringTime(now);
                    if (wait <= TimeSpan.Zero)
                    {
                        return SwapBuffers();
                    }
                    _writerWait = settling ? WriterWait.Settling : WriterWait.Gathering;
                }
                else if (!_paused && _incoming.Count > 0)
                {
                    // Only writes nobody waits for (deletes of acknowledged deliveries, mostly): they
                    // ride on the next awaited commit, or are committed once they have waited
                    // UnawaitedWritesDelay, whichever comes first. One fsync saved per message at
                    // steady rates; a crash in the window only repeats an at-least-once delivery.
                    wait = UnawaitedWritesDelay - Stopwatch.GetElapsedTime(_firstUnawaitedWrite, now);
                    if (wait <= TimeSpan.Zero)
                    {
                        return SwapBuffers();
                    }
                    _writerWait = WriterWait.Lingering;
                }
                else if (!_paused && Stopwatch.GetElapsedTime(_lastBatchTaken, now) < UnawaitedWritesDelay)
                {
                    // Just after a commit, linger instead of sleeping until the next write, so the
                    // unawaited writes that follow a commit (its deliveries acknowledged) need no wake-up.
                    _writerWait = WriterWait.Lingering;
                    wait = UnawaitedWritesDelay - Stopwatch.GetElapsedTime(_lastBatchTaken, now);
                }
                else
                {
                    _writerWait = WriterWait.UntilAnyWrite;
                    wait = Timeout.InfiniteTimeSpan;
                }
            }
            // Set by whoever changed _writerWait back to None, after leaving the gate; a set from
            // before this wait (or a timeout) just makes the loop look again.
            _wake.Wait(wait);
        }
    }

    /// <summary>
    /// Under _gate, with awaited writes queued: how much longer to hold them for company, or zero to
    /// commit now. Only a lone awaited write waits, and only while they have been arriving closer
    /// together than the commit delay: then the next one is expected within it, and both share
    /// one sync. Slower, nothing waits (no company would come); faster, the writes that arrive during
    /// a commit make batches by themselves.
    /// </summary>
    /// <remarks>
    /// Writes that come one at a time, each only after the previous one is durable (a client that
    /// publishes its next message when it has the PUBACK), are close together too, but no company
    /// ever comes for them: a gathering that ends without company skips gathering for the next
    /// awaited writes, for twice as many each time it happens again, up to
    /// <see cref="MaximumGatheringSkip"/>, so such a client is held back once per that many
    /// messages; a gathering that finds company starts the count over.
    /// </remarks>
    private TimeSpan GatheringTime(long now)
    {
        if (_incomingAwaited > 1)
        {
            if (_gathering)
            {
                _gatheringSkipAfterFailure = MinimumGatheringSkip;
            }
            return TimeSpan.Zero;
        }
        if (_gatheringSkip > 0 || _awaitedIntervalTicks >= _commitDelayTicks)
        {
            return TimeSpan.Zero;
        }
        TimeSpan left = Stopwatch.GetElapsedTime(now, _lastAwaitedWrite + _commitDelayTicks);
        if (left > TimeSpan.Zero)
        {
            _gathering = true;
            return left;
        }
        _gatheringSkip = _gatheringSkipAfterFailure;
        _gatheringSkipAfterFailure = Math.Min(_gatheringSkipAfterFailure * 2, MaximumGatheringSkip);
        return TimeSpan.Zero;
    }

    /// <summary>
    /// Under _gate, with one awaited write queued and it settling: how much longer to hold it for its
    /// writes to be taken back, or zero to commit now. A run request handed to the engine before its
    /// commit is usually run and acknowledged within a fraction of a millisecond; its deletes then
    /// ride in the same batch, and neither the request nor its deletes are written. A slower run
    /// costs the request at most the commit delay more before its commit, as a gathering would.
    /// </summary>
    private TimeSpan SettlingTime(long now) =>
        _settleSeen ? TimeSpan.Zero : Stopwatch.GetElapsedTime(now, _lastAwaitedWrite + _commitDelayTicks);

    // Under _gate: hands the incoming operations to the writer; false when there are none (stopping).
    private bool SwapBuffers()
    {
        _writerWait = WriterWait.None;
        if (_incoming.Count == 0)
        {
            return false;
        }
        (_incoming, _applying) = (_applying, _incoming);
        _gatheringSkip = Math.Max(_gatheringSkip - _incomingAwaited, 0);
        _incomingAwaited = 0;
        _applyingSettles = _incomingSettling > 0;
        _incomingSettling = 0;
        _settleSeen = false;
        _passEndDue = false;
        _holding = false;
        _gathering = false;
        _lastBatchTaken = Stopwatch.GetTimestamp();
        return true;
    }

    private void ProcessBatch(StoreOperationBuffer batch)
    {
        _callbacks.Clear();
        bool uncoveredBefore = _uncoveredFailure;
        if (_applyingSettles && _settled.Find(batch) > 0)
        {
            Interlocked.Add(ref _settledWriteCount, _settled.CancelledCount);
        }
        bool wrote;
        lock (_connectionLock)
        {
            try
            {
                wrote = ApplyAndCommit(batch, uncoveredBefore);
            }
            catch (Exception exception)
            {
                // Not an SQLite error (those come back as result codes) but a bug, here or in a record
                // the broker changed after queueing it. The batch fails like any other and the writer
                // lives on: a dead writer would leave every later callback hanging.
                FailBatch(batch, uncoveredBefore, $"a {exception.GetType().Name}: {exception.Message}");
                wrote = true;
            }
            if (wrote)
            {
                MeasureReusableSpace();
            }
        }
        RunCallbacks();
    }

    /// <summary>
    /// Reads how much of the database file is free pages (deleted rows' space, which SQLite reuses
    /// but never gives back to the file system), for the disk reserve. Reads the header page only.
    /// </summary>
    private void MeasureReusableSpace()
    {
        try
        {
            if (_freePages.StepRow())
            {
                _footprint.ReusableBytes = _freePages.ReadInt64(0) * _pageSize;
            }
        }
        catch (SqliteStoreException)
        {
            // Keep the previous figure: a gauge is not worth failing the writer for.
        }
        finally
        {
            _freePages.Reset();
        }
    }

    /// <summary>Applies the batch in one transaction; returns whether it touched the database.</summary>
    /// <param name="batch">The operations, in request order.</param>
    /// <param name="uncoveredBefore">Whether writes failed since the latest callback of earlier batches.</param>
    private bool ApplyAndCommit(StoreOperationBuffer batch, bool uncoveredBefore)
    {
        bool uncovered = uncoveredBefore;
        bool began = false;
        for (int i = 0; i < batch.Count; i++)
        {
            ref readonly StoreOperation operation = ref batch[i];
            if (operation.Kind == StoreOperationKind.WhenDurable)
            {
                _callbacks.Add(new PendingCallback((Action<bool>)operation.Reference!, !uncovered));
                uncovered = false;
                continue;
            }
            if (_applyingSettles && _settled.IsCancelled(i))
            {
                continue;
            }
            int rc;
            if (!began)
            {
                rc = _begin.Execute();
                if (rc != raw.SQLITE_OK)
                {
                    FailBatch(batch, uncoveredBefore, _database.DescribeResult(rc));
                    return true;
                }
                began = true;
            }
            rc = _statements.Apply(operation);
            if (rc == raw.SQLITE_OK)
            {
                continue;
            }
            if (SqliteResultCodes.IsStatementLevel(rc) && _database.InTransaction)
            {
                uncovered = true;
                _batchFailures.Report(string.Create(CultureInfo.InvariantCulture,
                    $"SQLite broker store: {operation.Kind} failed and was skipped ({_database.DescribeResult(rc)}); the WhenDurable covering it reports false."));
                continue;
            }
            FailBatch(batch, uncoveredBefore, _database.DescribeResult(rc));
            return true;
        }
        if (began)
        {
            int rc = _commit.Execute();
            if (rc != raw.SQLITE_OK)
            {
                FailBatch(batch, uncoveredBefore, _database.DescribeResult(rc));
                return true;
            }
            Interlocked.Increment(ref _commitCount);
        }
        _uncoveredFailure = uncovered;
        return began;
    }

    /// <summary>
    /// Rolls the batch back and recomputes its callbacks' outcomes with every write of the batch lost:
    /// a callback is told <see langword="false"/> when its segment (the writes since the previous
    /// callback) holds any of them. So in practice every callback after the batch's first write, while
    /// one that precedes it (covering only earlier, committed batches) keeps its outcome.
    /// </summary>
    private void FailBatch(StoreOperationBuffer batch, bool uncoveredBefore, string reason)
    {
        string rollback = "rolled back";
        if (_database.InTransaction)
        {
            int rc = _rollback.Execute();
            if (rc != raw.SQLITE_OK)
            {
                rollback = "not rolled back (" + _database.DescribeResult(rc) + ")";
            }
        }
        Interlocked.Increment(ref _failedBatchCount);

        _callbacks.Clear();
        int failedCallbacks = 0;
        bool segmentFailed = uncoveredBefore;
        for (int i = 0; i < batch.Count; i++)
        {
            ref readonly StoreOperation operation = ref batch[i];
            if (operation.Kind == StoreOperationKind.WhenDurable)
            {
                _callbacks.Add(new PendingCallback((Action<bool>)operation.Reference!, !segmentFailed));
                failedCallbacks += segmentFailed ? 1 : 0;
                segmentFailed = false;
            }
            else
            {
                segmentFailed = true;
            }
        }
        // Writes after the batch's last callback are lost with it; the next callback must not claim them.
        _uncoveredFailure = segmentFailed;
        _batchFailures.Report(string.Create(CultureInfo.InvariantCulture,
            $"SQLite broker store: a batch of {batch.Count - _callbacks.Count} writes failed with {reason} and was {rollback}; {failedCallbacks} WhenDurable callbacks report false."));
    }

    private void RunCallbacks()
    {
        using Lock.Scope order = _callbackOrder.EnterScope();
        foreach (PendingCallback pending in _callbacks)
        {
            RunCallback(pending.Callback, pending.Durable);
        }
        _callbacks.Clear();
    }

    // A callback that throws is reported, never passed on: the writer, or the pass that settled a
    // request, goes on with the next.
    private void RunCallback(Action<bool> callback, bool durable)
    {
        try
        {
            callback(durable);
        }
        catch (Exception exception)
        {
            _callbackFailures.Report($"SQLite broker store: a WhenDurable callback threw {exception.GetType().Name}: {exception.Message}");
        }
    }
}

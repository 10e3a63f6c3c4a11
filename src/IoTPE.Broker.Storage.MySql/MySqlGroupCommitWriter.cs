using System.Diagnostics;
using System.Globalization;
using MySqlConnector;

namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// The store's single writer: a dedicated thread that takes everything enqueued so far, applies it
/// in one transaction (<see cref="BatchStatements"/>), commits, then hands that batch's
/// <c>WhenDurable</c> outcomes to a second thread (<see cref="DurabilityCallbackThread"/>) that runs
/// the callbacks in request order while the writer goes on with the next batch. While it commits,
/// new work accumulates for the next batch (group commit).
/// </summary>
/// <remarks>
/// <para>
/// <b>When the server fails.</b> A batch whose transaction fails (the server is unreachable, the
/// connection breaks, a COMMIT fails) tells each of its callbacks <see langword="false"/> at once, as
/// the SQLite store does, and the broker then refuses what depended on them. But a database server
/// goes away far more often than a disk fills, so the writes are not simply lost as there: the
/// broker keeps most of the state they describe in memory (a session, a subscription, a retained
/// message, a completed delivery, an id reservation), and losing them would make the database
/// disagree with it after the next restart (a completed QoS 2 delivery sent again, a subscription
/// gone). So the writer <em>carries</em> them and writes them again, in order, before anything newer,
/// once the server answers. It drops only the writes that the broker undoes when told false
/// (<see cref="RefusedWrites"/>): the refused epoch's queued deliveries and QoS 2 packet identifiers.
/// While the server is away, new batches are not sent: their callbacks are told false at once and
/// their writes join the carry, so the broker refuses publishes promptly (0x80, or a disconnect in
/// 3.1.1) instead of waiting. The writer tries to reach the server again after a delay that doubles
/// up to a maximum, and logs once when the server becomes unreachable and once when it is back.
/// </para>
/// <para>
/// <b>A COMMIT without an answer</b> may have committed. Every transaction writes its batch number
/// into <c>counters.writer_batch</c>; on reconnecting the writer reads it and knows. If the batch did
/// commit, the carried writes are in already, and the deliveries and packet identifiers the broker
/// dropped are deleted instead (<see cref="UnresolvedCommit"/>).
/// </para>
/// <para>
/// <b>A write the server refuses for its data</b> (a duplicate key: a broker bug; a key or a message
/// beyond the column or packet limits) is skipped, the rest of the batch commits, and the callback
/// covering it is told false, as on SQLite; the deliveries and packet identifiers of that callback's
/// epoch are deleted in the same transaction, so the database agrees with the broker, which drops them.
/// Writes after the last callback of a batch are covered by the next callback: if they were refused,
/// or their batch failed, the next callback is told false too.
/// </para>
/// </remarks>
internal sealed class MySqlGroupCommitWriter
{
    private const int InitialBatchCapacity = 1024;
    private static readonly TimeSpan FootprintInterval = TimeSpan.FromSeconds(5);

    private readonly object _gate = new();
    private readonly string _connectionString;
    private readonly Action<string> _log;
    private readonly ThrottledFailureLog _refusals;
    private readonly TimeSpan _firstRetryDelay;
    private readonly TimeSpan _maxRetryDelay;
    private readonly Action _closeStore;
    private readonly Thread _thread;
    private readonly DurabilityCallbackThread _callbackThread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<StoreOperation> _carry = [];
    private readonly List<StoreOperation> _work = [];
    private readonly List<int> _segmentOf = [];
    private readonly List<Action<bool>> _callbacks = [];
    private readonly List<bool> _segmentFailed = [];
    private readonly List<StoreOperation> _compensations = [];
    private StoreOperationBuffer _incoming = new(InitialBatchCapacity);
    private StoreOperationBuffer _applying = new(InitialBatchCapacity);
    private WriterConnection? _connection;
    private long? _previousServerThread;
    private UnresolvedCommit? _unresolved;
    private bool _stopRequested;
    private bool _writerWaiting;
    private bool _paused;
    private bool _uncoveredFailure;
    private bool _down;
    private long _downSinceTimestamp;
    private long _nextAttemptTimestamp;
    private TimeSpan _retryDelay;
    private long _batchNumber;
    private long _commitCount;
    private long _failedBatchCount;
    private long _storedBytes;
    private long _footprintMeasuredTimestamp;
    private bool _warnedAboutFlushLog;

    /// <summary>Connects (synchronously, so that a wrong configuration fails the caller) and starts the writer thread.</summary>
    public MySqlGroupCommitWriter(string connectionString, MySqlBrokerStoreOptions options, Action<string> log, Action closeStore)
    {
        _connectionString = connectionString;
        _log = log;
        _refusals = new ThrottledFailureLog(log, TimeSpan.FromSeconds(1));
        _firstRetryDelay = options.FirstRetryDelay;
        _maxRetryDelay = options.MaxRetryDelay;
        _retryDelay = _firstRetryDelay;
        _closeStore = closeStore;
        Connect();
        MeasureFootprint();
        _callbackThread = new DurabilityCallbackThread(log);
        _thread = new Thread(Run) { Name = "IoTPE MySQL writer", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Transactions committed so far.</summary>
    public long CommitCount => Interlocked.Read(ref _commitCount);

    /// <summary>Batches that failed as a whole (their callbacks told false), sent or not.</summary>
    public long FailedBatchCount => Interlocked.Read(ref _failedBatchCount);

    /// <summary>
    /// Bytes of the store's tables as the server reports them, measured at most every 5 s; only the
    /// broker's tables, since on the central they share the service database with the engine's.
    /// </summary>
    public long StoredBytes => Interlocked.Read(ref _storedBytes);

    /// <summary>True while the server is unreachable or failing the writer's transactions.</summary>
    public bool IsDown => Volatile.Read(ref _down);

    /// <summary>True when the caller is the writer thread or inside a callback.</summary>
    public bool IsStoreThread => Thread.CurrentThread == _thread || _callbackThread.IsCurrentThread;

    /// <summary>Completes when the writer has applied everything it could, run the last callbacks and closed the store.</summary>
    public Task Stopped => _stopped.Task;

    /// <summary>Statements the writer sent so far on its current connection (for tests that count round trips).</summary>
    internal long StatementCount => _connection?.Statements.StatementCount ?? 0;

    /// <summary>Queues an operation for the next batch.</summary>
    /// <exception cref="ObjectDisposedException">The store is being disposed.</exception>
    public void Enqueue(in StoreOperation operation)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopRequested, typeof(MySqlBrokerStore));
            _incoming.Add(operation);
            if (_writerWaiting)
            {
                _writerWaiting = false;
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>Refuses further operations and lets the writer finish what is queued, then stop.</summary>
    public void RequestStop()
    {
        lock (_gate)
        {
            _stopRequested = true;
            _paused = false;
            Monitor.Pulse(_gate);
        }
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
            Monitor.Pulse(_gate);
        }
    }

    private const string BatchNumberUpdate = "UPDATE counters SET value = ? WHERE name = 'writer_batch'";

    private void Run()
    {
        try
        {
            while (TakeBatch(out bool stopping))
            {
                try
                {
                    ProcessBatch(_applying, stopping);
                }
                catch (Exception exception)
                {
                    // A bug, here or in a record the broker changed after queueing it. Whatever callbacks
                    // were not run yet would hang the broker: fail them and go on.
                    _refusals.Report($"MySQL broker store: the writer failed with {exception.GetType().Name}: {exception.Message}");
                    FailUnsent(_applying);
                }
                _callbackThread.HandOver();
                _applying.Clear();
                if (stopping)
                {
                    break;
                }
            }
            if (_carry.Count > 0 || _unresolved is not null)
            {
                _log(string.Create(CultureInfo.InvariantCulture,
                    $"MySQL broker store: stopped while the server was unreachable; {_carry.Count} writes whose callbacks were already told false were not stored."));
            }
        }
        finally
        {
            _callbackThread.Stop();
            _connection?.Dispose();
            _connection = null;
            try
            {
                _closeStore();
            }
            catch (Exception exception)
            {
                _log($"MySQL broker store: closing failed with {exception.GetType().Name}: {exception.Message}");
            }
            _stopped.TrySetResult();
        }
    }

    /// <summary>
    /// Waits for work, or while the server is away for the time to try again, and swaps the buffers.
    /// False once stopped with nothing left; <paramref name="stopping"/> says this is the last batch.
    /// </summary>
    private bool TakeBatch(out bool stopping)
    {
        lock (_gate)
        {
            while (!_stopRequested && (_incoming.Count == 0 || _paused))
            {
                _writerWaiting = true;
                if (!_down || _paused)
                {
                    Monitor.Wait(_gate);
                    continue;
                }
                TimeSpan untilRetry = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _nextAttemptTimestamp);
                if (untilRetry <= TimeSpan.Zero)
                {
                    break; // an empty batch: probe the server and write the carry
                }
                Monitor.Wait(_gate, untilRetry);
            }
            _writerWaiting = false;
            stopping = _stopRequested;
            if (stopping && _incoming.Count == 0 && _carry.Count == 0 && _unresolved is null)
            {
                return false;
            }
            (_incoming, _applying) = (_applying, _incoming);
            return true;
        }
    }

    private void ProcessBatch(StoreOperationBuffer batch, bool stopping)
    {
        if (_down && !stopping && Stopwatch.GetTimestamp() < _nextAttemptTimestamp)
        {
            FailUnsent(batch);
            return;
        }
        if (_connection is null)
        {
            try
            {
                Connect();
            }
            catch (Exception exception)
            {
                OnFailure(exception);
                FailUnsent(batch);
                return;
            }
        }
        PlanAttempt(batch);
        bool committing = false;
        MySqlTransaction? transaction = null;
        try
        {
            if (_work.Count > 0)
            {
                WriterConnection connection = _connection!;
                transaction = connection.Connection.BeginTransaction();
                // The writes go in as few round trips as fit, the batch number in the last of them.
                bool applied = !_segmentFailed[0] && connection.Statements.ApplyTogether(_work, transaction, BatchNumberUpdate, _batchNumber + 1);
                if (!applied)
                {
                    // A refused write (or an earlier failure to compensate): start over, statement by
                    // statement, so that only the refused writes are skipped.
                    transaction.Rollback();
                    transaction.Dispose();
                    transaction = connection.Connection.BeginTransaction();
                    connection.Statements.Apply(_work, transaction, OnRefused);
                    CompensateFailedSegments(connection, transaction);
                    connection.Statements.Execute(BatchNumberUpdate.Replace("?", "@value", StringComparison.Ordinal), transaction, _batchNumber + 1);
                }
                committing = true;
                transaction.Commit();
                _batchNumber++;
                Interlocked.Increment(ref _commitCount);
            }
        }
        catch (Exception exception)
        {
            if (committing)
            {
                _unresolved = new UnresolvedCommit(_batchNumber + 1, 0, []);
            }
            FailAttempt(transaction, exception);
            return;
        }
        finally
        {
            transaction?.Dispose();
        }
        _carry.Clear();
        _uncoveredFailure = _segmentFailed[_callbacks.Count];
        if (_down)
        {
            _down = false;
            _retryDelay = _firstRetryDelay;
            _log(string.Create(CultureInfo.InvariantCulture,
                $"MySQL broker store: the database server is back after {Stopwatch.GetElapsedTime(_downSinceTimestamp).TotalSeconds:0.0} s; durable writes resume."));
        }
        for (int i = 0; i < _callbacks.Count; i++)
        {
            _callbackThread.Add(_callbacks[i], !_segmentFailed[i]);
        }
        _callbacks.Clear();
        if (_work.Count > 0 && Stopwatch.GetElapsedTime(_footprintMeasuredTimestamp) > FootprintInterval)
        {
            MeasureFootprint();
        }
        _work.Clear();
    }

    /// <summary>
    /// Lays out one attempt: the carry (writes whose callbacks were told already, segment -1), then
    /// the batch's writes, each in the segment of the callback that covers it (the batch's k-th
    /// callback covers segment k; writes after the last one are in segment <c>callbacks.Count</c>).
    /// </summary>
    private void PlanAttempt(StoreOperationBuffer batch)
    {
        _work.Clear();
        _segmentOf.Clear();
        _callbacks.Clear();
        _segmentFailed.Clear();
        foreach (StoreOperation carried in _carry)
        {
            _work.Add(carried);
            _segmentOf.Add(-1);
        }
        for (int i = 0; i < batch.Count; i++)
        {
            ref readonly StoreOperation operation = ref batch[i];
            if (operation.Kind == StoreOperationKind.WhenDurable)
            {
                _callbacks.Add((Action<bool>)operation.Reference!);
                continue;
            }
            _work.Add(operation);
            _segmentOf.Add(_callbacks.Count);
        }
        for (int i = 0; i <= _callbacks.Count; i++)
        {
            _segmentFailed.Add(false);
        }
        // Writes of an earlier batch after its last callback failed: the first callback covers them.
        _segmentFailed[0] = _uncoveredFailure;
    }

    private void OnRefused(int index, string reason)
    {
        int segment = _segmentOf[index];
        if (segment >= 0)
        {
            _segmentFailed[segment] = true;
        }
        _refusals.Report($"MySQL broker store: {_work[index].Kind} was refused and skipped ({reason}); the WhenDurable covering it reports false.");
    }

    /// <summary>Deletes, in the same transaction, the deliveries and packet identifiers of epochs that will be told false.</summary>
    private void CompensateFailedSegments(WriterConnection connection, MySqlTransaction transaction)
    {
        _compensations.Clear();
        for (int i = 0; i < _work.Count; i++)
        {
            int segment = _segmentOf[i];
            if (segment >= 0 && _segmentFailed[segment] && RefusedWrites.IsUndoneByBroker(_work[i].Kind))
            {
                _compensations.Add(RefusedWrites.Compensation(_work[i]));
            }
        }
        if (_compensations.Count > 0)
        {
            connection.Statements.Apply(_compensations, transaction, static (_, _) => { });
        }
    }

    /// <summary>The attempt's transaction failed: drop the connection, tell every callback false, carry the writes.</summary>
    private void FailAttempt(MySqlTransaction? transaction, Exception exception)
    {
        if (_unresolved is null && transaction is not null)
        {
            try
            {
                transaction.Rollback();
            }
            catch (Exception)
            {
                // The connection is gone: the server rolls the transaction back with it.
            }
        }
        DropConnection();
        OnFailure(exception);
        _carry.Clear();
        List<StoreOperation>? compensations = _unresolved is not null ? [] : null;
        for (int i = 0; i < _work.Count; i++)
        {
            StoreOperation operation = _work[i];
            if (_segmentOf[i] >= 0 && RefusedWrites.IsUndoneByBroker(operation.Kind))
            {
                compensations?.Add(RefusedWrites.Compensation(operation));
                continue;
            }
            _carry.Add(operation);
        }
        if (_unresolved is not null)
        {
            _unresolved = _unresolved with { CarriedCount = _carry.Count, Compensations = compensations! };
        }
        _uncoveredFailure = HasTrailingWrites() || (_uncoveredFailure && _callbacks.Count == 0);
        Interlocked.Increment(ref _failedBatchCount);
        foreach (Action<bool> callback in _callbacks)
        {
            _callbackThread.Add(callback, false);
        }
        _callbacks.Clear();
        _work.Clear();
    }

    private bool HasTrailingWrites() => _segmentOf.Count > 0 && _segmentOf[^1] == _callbacks.Count;

    /// <summary>
    /// While the server is away: tells the batch's callbacks false without sending anything and
    /// carries its writes (but those the broker undoes).
    /// </summary>
    private void FailUnsent(StoreOperationBuffer batch)
    {
        int callbacks = 0;
        bool trailing = false;
        for (int i = 0; i < batch.Count; i++)
        {
            ref readonly StoreOperation operation = ref batch[i];
            if (operation.Kind == StoreOperationKind.WhenDurable)
            {
                callbacks++;
                trailing = false;
                continue;
            }
            trailing = true;
            if (!RefusedWrites.IsUndoneByBroker(operation.Kind))
            {
                _carry.Add(operation);
            }
        }
        _uncoveredFailure = trailing || (_uncoveredFailure && callbacks == 0);
        if (batch.Count > 0)
        {
            Interlocked.Increment(ref _failedBatchCount);
        }
        for (int i = 0; i < batch.Count; i++)
        {
            if (batch[i].Kind == StoreOperationKind.WhenDurable)
            {
                _callbackThread.Add((Action<bool>)batch[i].Reference!, false);
            }
        }
    }

    /// <summary>Opens the writer's connection and settles a COMMIT that got no answer.</summary>
    private void Connect()
    {
        WriterConnection connection = WriterConnection.Open(_connectionString, _previousServerThread);
        try
        {
            if (connection.FlushLogAtTransactionCommit != 1 && !_warnedAboutFlushLog)
            {
                _warnedAboutFlushLog = true;
                _log(string.Create(CultureInfo.InvariantCulture,
                    $"MySQL broker store: the server runs with innodb_flush_log_at_trx_commit = {connection.FlushLogAtTransactionCommit}: a commit may be lost if the server's machine fails, so acknowledged messages may be too. Set it to 1 (the default)."));
            }
            _batchNumber = MySqlBrokerStateReader.ReadCounter(connection.Connection, "writer_batch");
            if (_unresolved is { } unresolved)
            {
                bool committed = _batchNumber >= unresolved.Batch;
                if (committed)
                {
                    // The carried head is in the database already; undo what the broker dropped instead.
                    _carry.RemoveRange(0, unresolved.CarriedCount);
                    _carry.InsertRange(0, unresolved.Compensations);
                }
                _log($"MySQL broker store: the batch whose COMMIT got no answer {(committed ? "had committed" : "had not committed")}; the database is brought in line with the broker.");
                _unresolved = null;
            }
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        _connection = connection;
        _previousServerThread = connection.ServerThread;
    }

    private void DropConnection()
    {
        _connection?.Dispose();
        _connection = null;
    }

    private void OnFailure(Exception exception)
    {
        if (!_down)
        {
            _down = true;
            _downSinceTimestamp = Stopwatch.GetTimestamp();
            _log($"MySQL broker store: the database server is unreachable or failing ({exception.GetType().Name}: {exception.Message}); durable writes are refused until it is back, retrying.");
        }
        else
        {
            _retryDelay = TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks * 2, _maxRetryDelay.Ticks));
        }
        _nextAttemptTimestamp = Stopwatch.GetTimestamp() + (long)(_retryDelay.TotalSeconds * Stopwatch.Frequency);
    }

    private void MeasureFootprint()
    {
        _footprintMeasuredTimestamp = Stopwatch.GetTimestamp();
        if (_connection is null)
        {
            return;
        }
        try
        {
            Interlocked.Exchange(ref _storedBytes, WriterConnection.QueryInt64(_connection.Connection,
                "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = DATABASE() " +
                "AND table_name IN ('sessions', 'subscriptions', 'messages', 'deliveries', 'incoming_packet_identifiers', 'retained', 'counters', 'broker_schema_version')"));
        }
        catch (Exception exception) when (exception is MySqlException or InvalidOperationException)
        {
            // Keep the previous figure: a gauge is not worth failing the writer for; the next batch notices a broken connection.
        }
    }
}

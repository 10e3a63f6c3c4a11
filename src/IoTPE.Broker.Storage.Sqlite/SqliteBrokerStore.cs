using System.Globalization;
using IoTPE.Broker.Storage;
using IoTPE.Sqlite;
using SQLitePCL;

namespace IoTPE.Broker.Storage.Sqlite;

/// <summary>
/// The broker's durable state in one SQLite database (WAL mode) in the data folder, written by a
/// single writer thread with group commit (see <see cref="IBrokerStore"/> for the contract).
/// </summary>
/// <remarks>
/// <para>
/// Write methods only append a struct to an in-memory queue under a short lock; the writer thread
/// applies everything queued in one transaction with prepared statements, commits, and then runs the
/// batch's <see cref="WhenDurable"/> callbacks. What a commit survives is
/// <see cref="SqliteBrokerStoreOptions.SyncMode"/>.
/// </para>
/// <para>
/// The records passed to the write methods are read later, on the writer thread: the caller must
/// not change them (e.g. reuse a message's packet array) after passing them.
/// </para>
/// <para>
/// A lock file beside the database (<c>broker.db.lock</c>) keeps a second store, in this or another
/// process, from opening the same database: two brokers writing one session store would corrupt
/// each other's state without SQLite noticing.
/// </para>
/// </remarks>
public sealed class SqliteBrokerStore : QueuedWritesBrokerStore, IBrokerStore
{
    private readonly Lock _connectionLock = new();
    private readonly SqliteDatabase _database;
    private readonly FileStream _instanceLock;
    private readonly StoreFootprint _footprint;
    private readonly GroupCommitWriter _writer;
    private readonly Action<string> _log;
    private readonly Lock _readerLock = new();
    private SqliteDatabase? _reader;
    private SqliteStatement? _readPayload;
    private SqliteStatement? _readDeliveries;
    private bool _closed;

    /// <summary>Opens the store in <paramref name="dataFolder"/>, creating the folder and the database if missing.</summary>
    /// <param name="dataFolder">The folder that holds the database.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="SqliteStoreException">
    /// SQLite cannot open or set up the database (e.g. it is not a database, it was written by a newer
    /// release, or WAL mode is not available on that file system).
    /// </exception>
    /// <exception cref="IOException">Another store has the database open.</exception>
    public SqliteBrokerStore(string dataFolder, SqliteBrokerStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataFolder);
        options ??= new SqliteBrokerStoreOptions();
        ArgumentException.ThrowIfNullOrEmpty(options.FileName);
        _log = ThrottledFailureLog.Guard(options.Log ?? Console.Error.WriteLine);

        string folder = Path.GetFullPath(dataFolder);
        Directory.CreateDirectory(folder);
        DatabasePath = Path.Combine(folder, options.FileName);
        _instanceLock = LockInstance(DatabasePath + ".lock");
        SqliteDatabase? database = null;
        try
        {
            database = SqliteDatabase.Open(DatabasePath);
            Configure(database, options);
            BrokerSchema.Migrate(database);
            _database = database;
            _footprint = new StoreFootprint(DatabasePath);
            _writer = new GroupCommitWriter(database, _connectionLock, new BrokerWriteStatements(database), _footprint, _log, Close, options.CommitDelay);
        }
        catch
        {
            database?.Dispose();
            _instanceLock.Dispose();
            throw;
        }
    }

    /// <summary>The database file's full path.</summary>
    public string DatabasePath { get; }

    /// <inheritdoc/>
    /// <remarks>Database file plus WAL file, as measured after the latest commit.</remarks>
    public long StoredBytes => _footprint.Bytes;

    /// <summary>
    /// Bytes of free pages inside the database after the latest commit: space that deleted messages
    /// left and later writes reuse without growing the file (SQLite does not shrink it). Counted as
    /// available by the disk reserve (<see cref="IoTPE.Broker.Storage.DataFolderFreeSpace"/>).
    /// </summary>
    public long ReusableBytes => _footprint.ReusableBytes;

    /// <summary>
    /// True with a <see cref="SqliteBrokerStoreOptions.CommitDelay"/>: a lone
    /// <see cref="IBrokerStore.WhenDurableOrSettled"/> request is held up to that delay (until the
    /// first pass end after it, once the broker reports them) and the rows taken back meanwhile are
    /// left out. Without a delay the writer commits at once, and nothing could settle.
    /// </summary>
    public bool SkipsSettledWrites => _writer.HoldsSettlingWrites;

    /// <inheritdoc/>
    public void OnPassEnded() => _writer.PassEnded();

    /// <summary>Writes left out because their batch took them back, so far.</summary>
    internal long SettledWriteCount => _writer.SettledWriteCount;

    /// <summary>Transactions committed so far (one per batch that wrote something).</summary>
    internal long CommitCount => _writer.CommitCount;

    /// <summary>Batches rolled back so far.</summary>
    internal long FailedBatchCount => _writer.FailedBatchCount;

    /// <inheritdoc/>
    /// <remarks>
    /// First deletes messages that no delivery and no retained entry refers to (a crash between the
    /// broker's last reference going and its <see cref="DeleteMessage"/> leaves those behind), then
    /// reads every table in one read transaction.
    /// </remarks>
    public StoredBrokerState Load() => Load(int.MaxValue);

    /// <inheritdoc/>
    /// <remarks>
    /// First deletes messages that no delivery and no retained entry refers to (a crash between the
    /// broker's last reference going and its <see cref="DeleteMessage"/> leaves those behind), then
    /// reads every table in one read transaction, each session's deliveries up to the window.
    /// </remarks>
    public StoredBrokerState Load(int maxDeliveriesPerSession)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDeliveriesPerSession, 1);
        lock (_connectionLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            // Loading sorts and windows over every delivery (the orphan sweep's NOT IN, the per-session
            // window, the shared-message GROUP BY): with a million queued that is tens of MB of temporary
            // b-trees, which temp_store = MEMORY built in RAM and the process kept (RSS after a restart with
            // 1,000,000 queued: +52 MB in memory, +7 MB in files; issue 12). In temporary files SQLite keeps
            // only its page cache of them in memory. Should the temporary folder fail, loading is tried again
            // in memory: starting matters more.
            _database.Execute("PRAGMA temp_store = FILE");
            try
            {
                return LoadOnce(maxDeliveriesPerSession);
            }
            catch (SqliteStoreException e) when (SqliteResultCodes.Primary(e.ResultCode) is raw.SQLITE_FULL or raw.SQLITE_IOERR or raw.SQLITE_CANTOPEN)
            {
                _log($"SQLite broker store: loading with temporary files failed ({e.Message}); loading in memory instead.");
                _database.Execute("PRAGMA temp_store = MEMORY");
                return LoadOnce(maxDeliveriesPerSession);
            }
            finally
            {
                _database.Execute("PRAGMA temp_store = MEMORY");
            }
        }
    }

    private StoredBrokerState LoadOnce(int maxDeliveriesPerSession)
    {
        long swept = BrokerStateReader.SweepOrphanedMessages(_database);
        if (swept > 0)
        {
            _log(string.Create(CultureInfo.InvariantCulture, $"SQLite broker store: deleted {swept} orphaned messages (referenced by no delivery and no retained entry)."));
        }
        return BrokerStateReader.Read(_database, maxDeliveriesPerSession);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Reads on a connection of its own, so it never waits for the writer's batch (WAL: a reader
    /// sees the last commit, https://www.sqlite.org/wal.html#concurrency). Reads are serialized:
    /// the broker reads one payload at a time.
    /// </remarks>
    public byte[]? ReadPayload(long messageId)
    {
        lock (_readerLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            SqliteStatement readPayload = OpenReader();
            try
            {
                readPayload.BindInt64(1, messageId);
                return readPayload.StepRow() && !readPayload.IsNull(0) ? readPayload.ReadBlob(0).ToArray() : null;
            }
            finally
            {
                readPayload.Reset();
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>On the connection <see cref="ReadPayload"/> uses: it never waits for the writer's batch.</remarks>
    public IReadOnlyList<StoredQueuedDelivery> ReadDeliveries(string clientId, long afterSequence, int max)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 0);
        lock (_readerLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            OpenReader();
            return BrokerStateReader.ReadQueuedDeliveries(_readDeliveries!, clientId, afterSequence, max);
        }
    }

    // Under _readerLock; returns the payload query.
    private SqliteStatement OpenReader()
    {
        if (_readPayload is not null)
        {
            return _readPayload;
        }
        _reader = SqliteDatabase.Open(DatabasePath);
        _reader.SetBusyTimeout(TimeSpan.FromSeconds(5));
        _reader.Execute("PRAGMA query_only = 1");
        _readPayload = _reader.Prepare("SELECT payload FROM messages WHERE id = ?1");
        _readDeliveries = _reader.Prepare(BrokerStateReader.QueuedDeliveriesQuery);
        return _readPayload;
    }

    /// <inheritdoc/>
    protected override void Enqueue(in StoreOperation operation) => _writer.Enqueue(operation);

    /// <summary>
    /// Commits everything enqueued, runs the last callbacks, stops the writer thread and closes the
    /// database. Writes after this call throw <see cref="ObjectDisposedException"/>. Called from a
    /// <see cref="WhenDurable"/> callback, it returns at once and the writer closes the store after
    /// that batch.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        _writer.RequestStop();
        return _writer.IsWriterThread ? ValueTask.CompletedTask : new ValueTask(_writer.Stopped);
    }

    /// <summary>Test hook: holds the writer back so that operations enqueued meanwhile form one batch.</summary>
    internal void PauseWriter() => _writer.Pause();

    /// <summary>Test hook: releases a paused writer.</summary>
    internal void ResumeWriter() => _writer.Resume();

    /// <summary>Test hook: runs SQL on the writer's connection between batches (e.g. <c>PRAGMA max_page_count</c>).</summary>
    internal void ExecuteOnWriterConnection(string sql)
    {
        lock (_connectionLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            _database.Execute(sql);
        }
    }

    /// <summary>Test hook: reads one integer through the writer's connection (e.g. a pragma).</summary>
    internal long? QueryOnWriterConnection(string sql)
    {
        lock (_connectionLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            return _database.QueryInt64(sql);
        }
    }

    private static void Configure(SqliteDatabase database, SqliteBrokerStoreOptions options)
    {
        database.SetBusyTimeout(options.BusyTimeout);
        // WAL: readers never block the writer, and a commit appends to one file instead of rewriting
        // pages in place through a rollback journal (https://www.sqlite.org/wal.html). The mode is
        // persistent in the file; setting it on every open is a no-op after the first.
        string? mode = database.QueryText("PRAGMA journal_mode = WAL");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
        {
            throw new SqliteStoreException(
                $"SQLite cannot use WAL mode for {database.Path} (it stays in '{mode}' mode); the file system must support shared memory (mmap).");
        }
        database.Execute(options.SyncMode == SqliteSyncMode.Full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
        // Auto-checkpoint keeps the WAL near its threshold under a constant stream; the size limit then
        // truncates the file when SQLite rewinds it, so one large batch does not leave a large file
        // behind (https://www.sqlite.org/pragma.html#pragma_journal_size_limit).
        database.SetWalAutoCheckpoint(options.WalAutoCheckpointPages);
        database.Execute(string.Create(CultureInfo.InvariantCulture, $"PRAGMA journal_size_limit = {options.JournalSizeLimitBytes}"));
        database.Execute("PRAGMA temp_store = MEMORY");
        // Debian's SQLite (linked into the binary) is built with SECURE_DELETE: every freed page would
        // be overwritten with zeros, so draining a queue would write as much to the WAL as the queue
        // holds, and on a nearly full disk the deletes that should free space would fill it. FAST
        // zeroes deleted content only where the page is written anyway (no extra I/O).
        database.Execute("PRAGMA secure_delete = FAST");
    }

    private static FileStream LockInstance(string lockPath)
    {
        try
        {
            // On Unix .NET backs FileShare.None with flock(LOCK_EX | LOCK_NB): a second opener, in this
            // process or another, fails; the kernel releases the lock when the process dies, even by kill -9.
            return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException exception)
        {
            throw new IOException($"Another broker store has {lockPath} locked: only one process may use a data folder at a time.", exception);
        }
    }

    /// <summary>Runs on the writer thread after its last batch.</summary>
    private void Close()
    {
        lock (_readerLock)
        {
            _readPayload?.Dispose();
            _readDeliveries?.Dispose();
            _reader?.Dispose();
            _readPayload = null;
            _readDeliveries = null;
            _reader = null;
        }
        lock (_connectionLock)
        {
            _closed = true;
            _database.Dispose();
        }
        _instanceLock.Dispose();
    }
}

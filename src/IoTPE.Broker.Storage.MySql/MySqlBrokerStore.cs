using System.Globalization;
using MySqlConnector;

namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// The broker's durable state in a MySQL or MariaDB database (InnoDB), written by a single writer
/// thread with group commit: the same contract as the SQLite store (see <see cref="IBrokerStore"/>),
/// for the central engine.
/// </summary>
/// <remarks>
/// <para>
/// Write methods only append a struct to an in-memory queue under a short lock; the writer thread
/// applies everything queued in one transaction with multi-row prepared statements, commits, and
/// then runs the batch's <see cref="WhenDurable"/> callbacks (on a thread of their own, in order,
/// while the writer applies the next batch). A callback told <see langword="true"/>
/// means the server answered the COMMIT: what it covers survives <c>kill -9</c> of the broker and
/// of the database server <em>provided the server runs with its durable defaults</em>,
/// <c>innodb_flush_log_at_trx_commit = 1</c> (the redo log is flushed to disk at each commit) and,
/// with a binary log, <c>sync_binlog = 1</c>. The store warns once when the first is not 1.
/// </para>
/// <para>
/// When the server becomes unreachable or fails a commit, callbacks are told <see langword="false"/>
/// (the broker refuses the publishes), the writes the broker still counts on are kept and written
/// once the server answers again, and the store reconnects by itself with a growing delay; see
/// <see cref="MySqlGroupCommitWriter"/> for exactly which writes and why.
/// </para>
/// <para>
/// <see cref="QueuedWritesBrokerStore.DeleteDeliveriesAfter"/> is applied in its place in the broker's
/// order: the writer applies a batch table by table, but not across this write, which reads the
/// deliveries and retained entries as the writes before it left them.
/// </para>
/// <para>
/// The records passed to the write methods are read later, on the writer thread: the caller must
/// not change them after passing them. Only one store may use a database at a time (a named lock
/// held by the writer's session).
/// </para>
/// </remarks>
public sealed class MySqlBrokerStore : QueuedWritesBrokerStore, IBrokerStore
{
    private readonly string _connectionString;
    private readonly Action<string> _log;
    private readonly MySqlGroupCommitWriter _writer;
    private readonly Lock _readerLock = new();
    private MySqlConnection? _reader;
    private MySqlCommand? _readPayload;
    private MySqlCommand? _readDeliveries;
    private volatile bool _closed;

    /// <summary>Connects, creates or migrates the tables, takes the database for this store and starts the writer.</summary>
    /// <param name="options">The connection string and settings.</param>
    /// <exception cref="MySqlBrokerStoreException">
    /// The server cannot be reached or refuses the user (the message names the server and the cause;
    /// the inner exception is the <see cref="MySqlException"/>), no database is named, its schema is
    /// newer, or another store uses it.
    /// </exception>
    public MySqlBrokerStore(MySqlBrokerStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.ConnectionString);
        _log = ThrottledFailureLog.Guard(options.Log ?? Console.Error.WriteLine);
        var builder = new MySqlConnectionStringBuilder(options.ConnectionString)
        {
            // The store keeps its connections open itself; a pooled connection would be reset on
            // every return and could hand back a session the server already dropped.
            Pooling = false,
            IgnorePrepare = false,
            // Keys are VARBINARY UTF-8 and text is stored as bytes; the connection's own text in utf8mb4.
            CharacterSet = "utf8mb4",
        };
        if (string.IsNullOrEmpty(builder.Database))
        {
            throw new MySqlBrokerStoreException("The MySQL broker store needs a database: set Database= in the connection string.");
        }
        _connectionString = builder.ConnectionString;
        // Unreachable at start: fail at once with a message that names the server, rather than retry.
        // Nothing was acknowledged yet, so waiting would only hide a wrong address or a server that is
        // not running; a host restarts the process (systemd) if the server is merely late.
        try
        {
            using var connection = new MySqlConnection(_connectionString);
            connection.Open();
            MySqlBrokerSchema.Migrate(connection);
        }
        catch (MySqlException exception)
        {
            throw new MySqlBrokerStoreException(string.Create(CultureInfo.InvariantCulture,
                $"The MySQL broker store cannot use the server {builder.Server}:{builder.Port} (database {builder.Database}, user {builder.UserID}): {exception.Message}"),
                exception);
        }
        _writer = new MySqlGroupCommitWriter(_connectionString, options, _log, Close);
    }

    /// <inheritdoc/>
    /// <remarks>Data and index bytes of the store's tables (not of other tables in the database) as the server reports them, measured at most every 5 s after a commit.</remarks>
    public long StoredBytes => _writer.StoredBytes;

    /// <summary>True while the server is unreachable or failing the writer's transactions (durable writes are refused).</summary>
    public bool IsDatabaseUnavailable => _writer.IsDown;

    /// <summary>Transactions committed so far (one per batch that wrote something).</summary>
    internal long CommitCount => _writer.CommitCount;

    /// <summary>Batches whose callbacks were told false because the server was away or failed the transaction.</summary>
    internal long FailedBatchCount => _writer.FailedBatchCount;

    /// <summary>Commands (round trips of writes) the writer sent on its current connection.</summary>
    internal long StatementCount => _writer.StatementCount;

    /// <inheritdoc/>
    public StoredBrokerState Load() => Load(int.MaxValue);

    /// <inheritdoc/>
    /// <remarks>
    /// First deletes the messages that no delivery and no retained entry refers to (a crash between
    /// the broker's last reference going and its <see cref="DeleteMessage"/> leaves those behind),
    /// then reads every table in one consistent snapshot, each session's deliveries up to the window,
    /// on a connection of its own.
    /// </remarks>
    /// <exception cref="MySqlException">The server cannot be reached.</exception>
    public StoredBrokerState Load(int maxDeliveriesPerSession)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDeliveriesPerSession, 1);
        ObjectDisposedException.ThrowIf(_closed, this);
        using var connection = new MySqlConnection(_connectionString);
        connection.Open();
        int swept = MySqlBrokerStateReader.SweepOrphanedMessages(connection);
        if (swept > 0)
        {
            _log(string.Create(CultureInfo.InvariantCulture, $"MySQL broker store: deleted {swept} orphaned messages (referenced by no delivery and no retained entry)."));
        }
        return MySqlBrokerStateReader.Read(connection, maxDeliveriesPerSession);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Reads on a connection of its own, so it never waits for the writer (InnoDB: a reader sees the
    /// last commit without locking). Reads are serialized. A connection the server dropped is opened
    /// again once; if the server is unreachable the <see cref="MySqlException"/> reaches the caller.
    /// </remarks>
    public byte[]? ReadPayload(long messageId)
    {
        lock (_readerLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            try
            {
                return ReadPayloadOnce(messageId);
            }
            catch (Exception exception) when (exception is MySqlException or InvalidOperationException or IOException)
            {
                CloseReader();
                return ReadPayloadOnce(messageId);
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// On the connection <see cref="ReadPayload"/> uses, so it never waits for the writer's batch;
    /// opened again once if the server dropped it, as there.
    /// </remarks>
    /// <exception cref="MySqlException">The server cannot be reached.</exception>
    public IReadOnlyList<StoredQueuedDelivery> ReadDeliveries(string clientId, long afterSequence, int max)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 0);
        lock (_readerLock)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            try
            {
                OpenReader();
                return MySqlBrokerStateReader.ReadQueuedDeliveries(_readDeliveries!, clientId, afterSequence, max);
            }
            catch (Exception exception) when (exception is MySqlException or InvalidOperationException or IOException)
            {
                CloseReader();
                OpenReader();
                return MySqlBrokerStateReader.ReadQueuedDeliveries(_readDeliveries!, clientId, afterSequence, max);
            }
        }
    }

    /// <inheritdoc/>
    protected override void Enqueue(in StoreOperation operation) => _writer.Enqueue(operation);

    /// <summary>
    /// Commits everything enqueued (one last attempt if the server is away), runs the last callbacks,
    /// stops the writer thread and closes the connections. Writes after this call throw
    /// <see cref="ObjectDisposedException"/>. Called from a <see cref="WhenDurable"/> callback, it
    /// returns at once and the writer closes the store after that batch.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        _writer.RequestStop();
        return _writer.IsStoreThread ? ValueTask.CompletedTask : new ValueTask(_writer.Stopped);
    }

    /// <summary>Test hook: holds the writer back so that operations enqueued meanwhile form one batch.</summary>
    internal void PauseWriter() => _writer.Pause();

    /// <summary>Test hook: releases a paused writer.</summary>
    internal void ResumeWriter() => _writer.Resume();

    private byte[]? ReadPayloadOnce(long messageId)
    {
        MySqlCommand readPayload = OpenReader();
        readPayload.Parameters[0].Value = messageId;
        object? payload = readPayload.ExecuteScalar();
        return payload as byte[];
    }

    // Under _readerLock; returns the payload query.
    private MySqlCommand OpenReader()
    {
        if (_readPayload is not null)
        {
            return _readPayload;
        }
        _reader = new MySqlConnection(_connectionString);
        _reader.Open();
        _readPayload = new MySqlCommand("SELECT payload FROM messages WHERE id = @id", _reader);
        _readPayload.Parameters.Add(new MySqlParameter("@id", MySqlDbType.Int64));
        _readPayload.Prepare();
        _readDeliveries = new MySqlCommand(MySqlBrokerStateReader.QueuedDeliveriesQuery, _reader);
        _readDeliveries.Parameters.Add(new MySqlParameter("@client", MySqlDbType.VarBinary));
        _readDeliveries.Parameters.Add(new MySqlParameter("@after", MySqlDbType.Int64));
        _readDeliveries.Parameters.Add(new MySqlParameter("@max", MySqlDbType.Int32));
        _readDeliveries.Prepare();
        return _readPayload;
    }

    private void CloseReader()
    {
        _readPayload?.Dispose();
        _readDeliveries?.Dispose();
        _reader?.Dispose();
        _readPayload = null;
        _readDeliveries = null;
        _reader = null;
    }

    /// <summary>Runs on the writer thread after its last batch.</summary>
    private void Close()
    {
        lock (_readerLock)
        {
            _closed = true;
            CloseReader();
        }
    }
}

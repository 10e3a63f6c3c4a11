namespace IoTPE.Broker.Storage.Sqlite;

/// <summary>Settings of a <see cref="SqliteBrokerStore"/>. Every setting has a usable default.</summary>
public sealed class SqliteBrokerStoreOptions
{
    /// <summary>The file name of the database inside the data folder. Default <c>broker.db</c>.</summary>
    public string FileName { get; init; } = "broker.db";

    /// <summary>What a commit survives before its callbacks are told it is durable. Default <see cref="SqliteSyncMode.Full"/>.</summary>
    public SqliteSyncMode SyncMode { get; init; } = SqliteSyncMode.Full;

    /// <summary>
    /// Where the store reports failed batches, swept orphans and similar events, one line per call.
    /// Default: standard error. The sink is called from the store's writer thread and must not block for long.
    /// </summary>
    public Action<string>? Log { get; init; }

    /// <summary>
    /// WAL size, in pages, at which a commit runs a passive checkpoint (SQLite's default is 1000 pages,
    /// about 4 MB; https://www.sqlite.org/wal.html#ckpt). Default 1000.
    /// </summary>
    public int WalAutoCheckpointPages { get; init; } = 1000;

    /// <summary>
    /// The size the WAL file is truncated back to after a checkpoint let SQLite rewind it
    /// (<c>PRAGMA journal_size_limit</c>). Without it the WAL file keeps the largest size it ever reached.
    /// Default 4 MiB.
    /// </summary>
    public long JournalSizeLimitBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// How long a write that someone waits for (a <c>WhenDurable</c>) may be held back for company
    /// when such writes arrive faster than one per this delay: the writer then waits for the next
    /// one, up to this long, and commits both with one sync instead of two. At 1,000 run requests a
    /// second that halves the syncs (the main cost per message on slow storage) for ~0.5 ms more
    /// latency; at slower rates nothing waits, at faster ones batches form by themselves.
    /// <see cref="TimeSpan.Zero"/> commits every awaited write at once. Default <see cref="DefaultCommitDelay"/>.
    /// </summary>
    public TimeSpan CommitDelay { get; init; } = DefaultCommitDelay;

    /// <summary>The default <see cref="CommitDelay"/>: 2 ms.</summary>
    public static readonly TimeSpan DefaultCommitDelay = TimeSpan.FromMilliseconds(2);

    /// <summary>How long a write waits for a lock held by another connection (e.g. a backup) before failing. Default 5 s.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

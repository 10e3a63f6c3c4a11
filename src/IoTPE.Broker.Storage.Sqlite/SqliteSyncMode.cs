namespace IoTPE.Broker.Storage.Sqlite;

/// <summary>
/// How hard a commit pushes data to stable storage before the store reports it durable.
/// </summary>
/// <remarks>
/// Both levels keep the database consistent; they differ in what a reported commit survives.
/// In WAL mode SQLite syncs the WAL before every commit with <c>synchronous=FULL</c>, and only at
/// checkpoints with <c>synchronous=NORMAL</c>: "A transaction committed in WAL mode with
/// synchronous=NORMAL might roll back following a power loss or system crash. Transactions are
/// durable across application crashes regardless of the synchronous setting"
/// (https://www.sqlite.org/pragma.html#pragma_synchronous).
/// </remarks>
public enum SqliteSyncMode
{
    /// <summary><c>PRAGMA synchronous=FULL</c>: a commit survives a power loss or an operating-system crash.</summary>
    Full,

    /// <summary><c>PRAGMA synchronous=NORMAL</c>: a commit survives a crash of the process (kill -9), not a power loss.</summary>
    Normal,
}

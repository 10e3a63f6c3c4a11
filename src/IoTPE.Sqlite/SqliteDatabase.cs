using SQLitePCL;

namespace IoTPE.Sqlite;

/// <summary>
/// One SQLite connection through SQLitePCLRaw's <c>raw</c> API: no ADO.NET objects, so the write
/// path allocates nothing per statement. Not thread-safe: the owner serializes every use.
/// </summary>
public sealed class SqliteDatabase : IDisposable
{
    private readonly sqlite3 _handle;
    private readonly List<SqliteStatement> _statements = [];
    private bool _closed;

    private SqliteDatabase(sqlite3 handle, string path)
    {
        _handle = handle;
        Path = path;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>The raw connection handle, for the statements prepared on it.</summary>
    public sqlite3 Handle => _handle;

    /// <summary>Opens (creating if missing) a database file for reading and writing.</summary>
    public static SqliteDatabase Open(string path) =>
        // NOMUTEX: the owner already serializes access, so SQLite's per-call mutex would be pure cost.
        Open(path, raw.SQLITE_OPEN_READWRITE | raw.SQLITE_OPEN_CREATE | raw.SQLITE_OPEN_NOMUTEX);

    /// <summary>
    /// Opens an existing database file only to read it (a status command looking at a running
    /// broker's files): nothing is created or written, so it cannot disturb the owner.
    /// </summary>
    public static SqliteDatabase OpenReadOnly(string path) => Open(path, raw.SQLITE_OPEN_READONLY | raw.SQLITE_OPEN_NOMUTEX);

    private static SqliteDatabase Open(string path, int flags)
    {
        SqliteRuntime.Initialize();
        int rc = raw.sqlite3_open_v2(path, out sqlite3 handle, flags, null);
        if (rc != raw.SQLITE_OK)
        {
            string message = handle is null ? raw.sqlite3_errstr(rc).utf8_to_string() : raw.sqlite3_errmsg(handle).utf8_to_string();
            handle?.Dispose();
            throw new SqliteStoreException($"Cannot open the database {path}: {message}", rc);
        }
        raw.sqlite3_extended_result_codes(handle, 1);
        return new SqliteDatabase(handle, path);
    }

    /// <summary>Runs SQL (one or more statements, no parameters) and returns SQLite's result code.</summary>
    public int TryExecute(string sql) => raw.sqlite3_exec(_handle, sql);

    /// <summary>Runs SQL (one or more statements, no parameters), throwing on failure.</summary>
    public void Execute(string sql)
    {
        int rc = raw.sqlite3_exec(_handle, sql, out string? message);
        if (rc != raw.SQLITE_OK)
        {
            throw new SqliteStoreException($"SQLite failed ({DescribeResult(rc)}) running: {sql} ({message})", rc);
        }
    }

    /// <summary>Runs a query whose first column of its first row is an integer, or null when it returns no row.</summary>
    public long? QueryInt64(string sql)
    {
        using SqliteStatement statement = Prepare(sql);
        bool hasRow = statement.StepRow();
        long? value = hasRow ? statement.ReadInt64(0) : null;
        statement.Reset();
        return value;
    }

    /// <summary>Runs a query whose first column of its first row is text, or null when it returns no row.</summary>
    public string? QueryText(string sql)
    {
        using SqliteStatement statement = Prepare(sql);
        bool hasRow = statement.StepRow();
        string? value = hasRow ? statement.ReadText(0) : null;
        statement.Reset();
        return value;
    }

    /// <summary>Compiles one statement; the database finalizes it on close unless it is disposed first.</summary>
    public SqliteStatement Prepare(string sql)
    {
        int rc = raw.sqlite3_prepare_v2(_handle, sql, out sqlite3_stmt statement);
        if (rc != raw.SQLITE_OK)
        {
            statement?.Dispose();
            throw new SqliteStoreException($"SQLite cannot prepare ({DescribeResult(rc)}): {sql}", rc);
        }
        var prepared = new SqliteStatement(this, statement, sql);
        _statements.Add(prepared);
        return prepared;
    }

    /// <summary>Forgets a statement the caller finalized itself.</summary>
    internal void Forget(SqliteStatement statement) => _statements.Remove(statement);

    /// <summary>True while an explicit transaction is open (https://www.sqlite.org/c3ref/get_autocommit.html).</summary>
    public bool InTransaction => raw.sqlite3_get_autocommit(_handle) == 0;

    /// <summary>Sets the WAL size, in pages, that triggers an automatic checkpoint at commit.</summary>
    public void SetWalAutoCheckpoint(int pages) => raw.sqlite3_wal_autocheckpoint(_handle, pages);

    /// <summary>Sets how long SQLite retries when another connection holds a lock.</summary>
    public void SetBusyTimeout(TimeSpan timeout) => raw.sqlite3_busy_timeout(_handle, (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue));

    /// <summary>"SQLITE_FULL (13): database or disk is full" with the connection's latest error text.</summary>
    public string DescribeResult(int rc)
    {
        string latest = raw.sqlite3_errmsg(_handle).utf8_to_string() ?? string.Empty;
        string generic = raw.sqlite3_errstr(rc).utf8_to_string() ?? string.Empty;
        string name = SqliteResultCodes.Name(rc);
        return latest.Length == 0 || latest == generic ? $"{name} ({rc}): {generic}" : $"{name} ({rc}): {generic}; {latest}";
    }

    /// <summary>Finalizes every statement and closes the connection.</summary>
    public void Dispose()
    {
        if (_closed)
        {
            return;
        }
        _closed = true;
        foreach (SqliteStatement statement in _statements.ToArray())
        {
            statement.Dispose();
        }
        _statements.Clear();
        // close_v2 would defer the close past a leaked statement; every statement is finalized above,
        // so sqlite3_close closes at once and the WAL is checkpointed and removed by this last connection.
        raw.sqlite3_close(_handle);
        _handle.Dispose();
    }
}

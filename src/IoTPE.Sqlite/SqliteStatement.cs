using System.Text;
using SQLitePCL;

namespace IoTPE.Sqlite;

/// <summary>
/// A prepared statement, reused for every execution: bind, step, reset. Text is encoded to UTF-8 on
/// the stack (or in a reused buffer for long text) and bound from a span, so binding allocates nothing.
/// </summary>
public sealed class SqliteStatement : IDisposable
{
    private const int StackTextBytes = 512;

    // SQLitePCLRaw binds a span through a pointer and SQLite reads a null pointer as NULL, so an empty
    // string needs a real (zero-terminated) buffer to stay an empty TEXT value.
    private static readonly byte[] EmptyText = [0];

    private readonly SqliteDatabase _database;
    private readonly sqlite3_stmt _handle;
    private byte[] _longText = [];
    private bool _disposed;

    internal SqliteStatement(SqliteDatabase database, sqlite3_stmt handle, string sql)
    {
        _database = database;
        _handle = handle;
        Sql = sql;
    }

    /// <summary>The statement's SQL, for error messages.</summary>
    public string Sql { get; }

    /// <summary>Binds an integer to the 1-based parameter <paramref name="index"/>.</summary>
    public void BindInt64(int index, long value) => raw.sqlite3_bind_int64(_handle, index, value);

    /// <summary>Binds an integer, or NULL for <see langword="null"/>.</summary>
    public void BindInt64(int index, long? value)
    {
        if (value is long number)
        {
            raw.sqlite3_bind_int64(_handle, index, number);
        }
        else
        {
            raw.sqlite3_bind_null(_handle, index);
        }
    }

    /// <summary>Binds text as UTF-8, or NULL for <see langword="null"/>.</summary>
    public void BindText(int index, string? value)
    {
        if (value is null)
        {
            raw.sqlite3_bind_null(_handle, index);
            return;
        }
        if (value.Length == 0)
        {
            raw.sqlite3_bind_text(_handle, index, utf8z.FromSpan(EmptyText));
            return;
        }
        int maxBytes = Encoding.UTF8.GetMaxByteCount(value.Length);
        Span<byte> buffer = maxBytes <= StackTextBytes ? stackalloc byte[StackTextBytes] : LongTextBuffer(maxBytes);
        int length = Encoding.UTF8.GetBytes(value, buffer);
        // The span overload binds with SQLITE_TRANSIENT: SQLite copies the bytes before this returns.
        raw.sqlite3_bind_text(_handle, index, buffer[..length]);
    }

    /// <summary>Binds a BLOB (an empty span binds a zero-length BLOB, not NULL).</summary>
    public void BindBlob(int index, ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            raw.sqlite3_bind_zeroblob(_handle, index, 0);
        }
        else
        {
            raw.sqlite3_bind_blob(_handle, index, value);
        }
    }

    /// <summary>Binds NULL.</summary>
    public void BindNull(int index) => raw.sqlite3_bind_null(_handle, index);

    /// <summary>Runs a statement that returns no rows and resets it; returns SQLITE_OK or the error code.</summary>
    public int Execute()
    {
        int rc = raw.sqlite3_step(_handle);
        // reset repeats the step's error; the step's code is the one that tells what happened.
        raw.sqlite3_reset(_handle);
        return rc == raw.SQLITE_DONE ? raw.SQLITE_OK : rc;
    }

    /// <summary>Runs a statement that returns no rows and resets it (as <see cref="Execute"/>); throws on error, with SQLite's result code.</summary>
    public void Run()
    {
        int rc = Execute();
        if (rc != raw.SQLITE_OK)
        {
            throw new SqliteStoreException($"SQLite failed ({_database.DescribeResult(rc)}) running: {Sql}", rc);
        }
    }

    /// <summary>Advances a query: true when a row is available, false when done; throws on error.</summary>
    public bool StepRow()
    {
        int rc = raw.sqlite3_step(_handle);
        if (rc == raw.SQLITE_ROW)
        {
            return true;
        }
        if (rc == raw.SQLITE_DONE)
        {
            return false;
        }
        string description = _database.DescribeResult(rc);
        raw.sqlite3_reset(_handle);
        throw new SqliteStoreException($"SQLite failed ({description}) running: {Sql}", rc);
    }

    /// <summary>Resets a query so it can run again.</summary>
    public void Reset() => raw.sqlite3_reset(_handle);

    /// <summary>True when column <paramref name="column"/> (0-based) of the current row is NULL.</summary>
    public bool IsNull(int column) => raw.sqlite3_column_type(_handle, column) == raw.SQLITE_NULL;

    /// <summary>Reads an integer column of the current row.</summary>
    public long ReadInt64(int column) => raw.sqlite3_column_int64(_handle, column);

    /// <summary>Reads an integer column, or null when it is NULL.</summary>
    public long? ReadNullableInt64(int column) => IsNull(column) ? null : raw.sqlite3_column_int64(_handle, column);

    /// <summary>Reads a text column, or null when it is NULL.</summary>
    public string? ReadText(int column) => IsNull(column) ? null : raw.sqlite3_column_text(_handle, column).utf8_to_string();

    /// <summary>Reads a BLOB column as a span valid until the next step or reset (empty for NULL).</summary>
    public ReadOnlySpan<byte> ReadBlob(int column) => raw.sqlite3_column_blob(_handle, column);

    /// <summary>Finalizes the statement.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        raw.sqlite3_finalize(_handle);
        _handle.Dispose();
        _database.Forget(this);
    }

    private Span<byte> LongTextBuffer(int size)
    {
        if (_longText.Length < size)
        {
            _longText = new byte[Math.Max(size, _longText.Length * 2)];
        }
        return _longText;
    }
}

using SQLitePCL;

namespace IoTPE.Sqlite;

/// <summary>Names and classes of SQLite result codes (https://www.sqlite.org/rescode.html).</summary>
public static class SqliteResultCodes
{
    /// <summary>The primary result code of an extended one (its low byte).</summary>
    public static int Primary(int rc) => rc & 0xFF;

    /// <summary>
    /// True for errors that undo only the failing statement and leave the transaction usable:
    /// a constraint violation (the default ABORT conflict resolution "backs out prior changes of the
    /// current SQL statement" but keeps the transaction, https://www.sqlite.org/lang_conflict.html),
    /// a value too big, a type mismatch or a bad parameter index. Every other error (FULL, IOERR, BUSY,
    /// NOMEM, CORRUPT...) ends the batch: "it is recommended that applications respond to the errors
    /// listed above by explicitly issuing a ROLLBACK command" (https://www.sqlite.org/lang_transaction.html).
    /// </summary>
    public static bool IsStatementLevel(int rc) => Primary(rc) is raw.SQLITE_CONSTRAINT or raw.SQLITE_TOOBIG or raw.SQLITE_MISMATCH or raw.SQLITE_RANGE;

    /// <summary>The symbolic name of a primary result code, e.g. <c>SQLITE_FULL</c>.</summary>
    public static string Name(int rc) => Primary(rc) switch
    {
        raw.SQLITE_OK => "SQLITE_OK",
        raw.SQLITE_ERROR => "SQLITE_ERROR",
        raw.SQLITE_INTERNAL => "SQLITE_INTERNAL",
        raw.SQLITE_PERM => "SQLITE_PERM",
        raw.SQLITE_ABORT => "SQLITE_ABORT",
        raw.SQLITE_BUSY => "SQLITE_BUSY",
        raw.SQLITE_LOCKED => "SQLITE_LOCKED",
        raw.SQLITE_NOMEM => "SQLITE_NOMEM",
        raw.SQLITE_READONLY => "SQLITE_READONLY",
        raw.SQLITE_INTERRUPT => "SQLITE_INTERRUPT",
        raw.SQLITE_IOERR => "SQLITE_IOERR",
        raw.SQLITE_CORRUPT => "SQLITE_CORRUPT",
        raw.SQLITE_NOTFOUND => "SQLITE_NOTFOUND",
        raw.SQLITE_FULL => "SQLITE_FULL",
        raw.SQLITE_CANTOPEN => "SQLITE_CANTOPEN",
        raw.SQLITE_PROTOCOL => "SQLITE_PROTOCOL",
        raw.SQLITE_SCHEMA => "SQLITE_SCHEMA",
        raw.SQLITE_TOOBIG => "SQLITE_TOOBIG",
        raw.SQLITE_CONSTRAINT => "SQLITE_CONSTRAINT",
        raw.SQLITE_MISMATCH => "SQLITE_MISMATCH",
        raw.SQLITE_MISUSE => "SQLITE_MISUSE",
        raw.SQLITE_NOLFS => "SQLITE_NOLFS",
        raw.SQLITE_AUTH => "SQLITE_AUTH",
        raw.SQLITE_RANGE => "SQLITE_RANGE",
        raw.SQLITE_NOTADB => "SQLITE_NOTADB",
        _ => "SQLITE_" + Primary(rc).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

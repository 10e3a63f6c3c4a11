using System.Diagnostics;
using System.Globalization;
using IoTPE.Engine.Scripts;
using IoTPE.Sqlite;
using SQLitePCL;

namespace IoTPE.Engine.Storage.Sqlite;

/// <summary>
/// One account's database connection, hardened for untrusted SQL before any script statement reaches
/// it: the allow-list authorizer (<see cref="ScriptSqlAuthorizer"/>), no extension loading, no
/// <c>fts3_tokenizer</c>, defensive mode (no writable schema, no raw page or shadow-table writes),
/// an untrusted schema, only the JSON virtual tables, no attached databases, SQLite's length and
/// complexity limits, the size cap, and a guard that stops a statement past the run's time budget
/// or its memory limit. Used by one thread at a time.
/// </summary>
internal sealed class AccountDatabaseConnection : IDisposable
{
    // https://www.sqlite.org/c3ref/c_dbconfig_defensive.html
    private const int SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER = 1004;
    private const int SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION = 1005;
    private const int SQLITE_DBCONFIG_DEFENSIVE = 1010;
    private const int SQLITE_DBCONFIG_WRITABLE_SCHEMA = 1011;
    private const int SQLITE_DBCONFIG_TRUSTED_SCHEMA = 1017;

    // https://www.sqlite.org/c3ref/c_limit_attached.html
    private const int SQLITE_LIMIT_LENGTH = 0;
    private const int SQLITE_LIMIT_SQL_LENGTH = 1;
    private const int SQLITE_LIMIT_COLUMN = 2;
    private const int SQLITE_LIMIT_EXPR_DEPTH = 3;
    private const int SQLITE_LIMIT_COMPOUND_SELECT = 4;
    private const int SQLITE_LIMIT_VDBE_OP = 5;
    private const int SQLITE_LIMIT_FUNCTION_ARG = 6;
    private const int SQLITE_LIMIT_ATTACHED = 7;
    private const int SQLITE_LIMIT_LIKE_PATTERN_LENGTH = 8;
    private const int SQLITE_LIMIT_VARIABLE_NUMBER = 9;
    private const int SQLITE_LIMIT_TRIGGER_DEPTH = 10;
    private const int SQLITE_LIMIT_WORKER_THREADS = 11;

    // The guard runs every this many virtual-machine instructions: often enough that a statement
    // piling up values overshoots its memory limit by a few MiB at most, rarely enough to cost ~1 %.
    private const int GuardInterval = 100;

    private static readonly delegate_progress Guard = userData => ((AccountDatabaseConnection)userData).ShouldStop() ? 1 : 0;

    private readonly SqliteDatabase _database;
    private readonly AccountDatabaseLimits _limits;
    private readonly ScriptSqlAuthorizer _authorizer = new();
    private long _deadline;
    private long _memoryAtStart;
    private string? _stopReason;

    private AccountDatabaseConnection(SqliteDatabase database, AccountDatabaseLimits limits)
    {
        _database = database;
        _limits = limits;
    }

    /// <summary>The raw connection.</summary>
    public sqlite3 Handle => _database.Handle;

    /// <summary>Opens (creating if missing) and hardens the database at <paramref name="path"/>.</summary>
    public static AccountDatabaseConnection Open(string path, AccountDatabaseLimits limits)
    {
        SqliteDatabase database = SqliteDatabase.Open(path);
        try
        {
            sqlite3 db = database.Handle;
            Configure(db, SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0);
            Configure(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0);
            Configure(db, SQLITE_DBCONFIG_DEFENSIVE, 1);
            Configure(db, SQLITE_DBCONFIG_WRITABLE_SCHEMA, 0);
            Configure(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0);
            SqliteModules.KeepOnly(db, ScriptSqlAuthorizer.Modules);

            raw.sqlite3_limit(db, SQLITE_LIMIT_LENGTH, limits.MaxValueBytes);
            raw.sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, AccountDatabaseLimits.MaxSqlBytes);
            raw.sqlite3_limit(db, SQLITE_LIMIT_COLUMN, AccountDatabaseLimits.MaxColumns);
            raw.sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, AccountDatabaseLimits.MaxExpressionDepth);
            raw.sqlite3_limit(db, SQLITE_LIMIT_COMPOUND_SELECT, AccountDatabaseLimits.MaxCompoundSelectTerms);
            raw.sqlite3_limit(db, SQLITE_LIMIT_VDBE_OP, AccountDatabaseLimits.MaxProgramSteps);
            raw.sqlite3_limit(db, SQLITE_LIMIT_FUNCTION_ARG, AccountDatabaseLimits.MaxFunctionArguments);
            raw.sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
            raw.sqlite3_limit(db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH, AccountDatabaseLimits.MaxLikePatternBytes);
            raw.sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, AccountDatabaseLimits.MaxParameters);
            raw.sqlite3_limit(db, SQLITE_LIMIT_TRIGGER_DEPTH, AccountDatabaseLimits.MaxTriggerDepth);
            raw.sqlite3_limit(db, SQLITE_LIMIT_WORKER_THREADS, 0);

            // temp_store=MEMORY: sorts, GROUP BY and other temporary b-trees stay in memory, where the
            // guard counts them, instead of in deleted files under /var/tmp that no cap sees.
            database.Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;");
            long pageSize = database.QueryInt64("PRAGMA page_size") ?? 4096;
            database.Execute("PRAGMA max_page_count=" + (limits.MaxDatabaseBytes / pageSize).ToString(CultureInfo.InvariantCulture));

            var connection = new AccountDatabaseConnection(database, limits);
            // Installed last: from here on only the allow-listed SQL compiles.
            raw.sqlite3_set_authorizer(db, connection._authorizer.Callback, null);
            raw.sqlite3_progress_handler(db, GuardInterval, Guard, connection);
            return connection;
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Starts a script call: its statements are stopped once <paramref name="timeout"/> has passed.
    /// </summary>
    public void BeginCall(TimeSpan timeout)
    {
        long ticks = timeout <= TimeSpan.Zero ? 0 : (long)Math.Min(timeout.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 4);
        _deadline = Stopwatch.GetTimestamp() + ticks;
    }

    /// <summary>Compiles the first statement of <paramref name="sql"/>; an invalid handle for only whitespace or comments.</summary>
    /// <exception cref="AccountDatabaseException">The statement does not compile or is not allowed.</exception>
    public sqlite3_stmt Prepare(ReadOnlySpan<byte> sql, out ReadOnlySpan<byte> tail)
    {
        _authorizer.Reset();
        _stopReason = null;
        int rc = raw.sqlite3_prepare_v2(Handle, sql, out sqlite3_stmt statement, out tail);
        if (rc != raw.SQLITE_OK)
        {
            statement.Dispose();
            throw Failure(rc);
        }
        // Memory held from earlier statements (the page cache) is not this statement's.
        _memoryAtStart = raw.sqlite3_memory_used();
        return statement;
    }

    /// <summary>Steps <paramref name="statement"/>: true for a row, false when done.</summary>
    /// <exception cref="AccountDatabaseException">The statement failed or was stopped; the message says why.</exception>
    public bool Step(sqlite3_stmt statement)
    {
        int rc = raw.sqlite3_step(statement);
        return rc switch
        {
            raw.SQLITE_ROW => true,
            raw.SQLITE_DONE => false,
            _ => throw Failure(rc),
        };
    }

    /// <summary>The script-visible error for SQLite's result <paramref name="rc"/>.</summary>
    public AccountDatabaseException Failure(int rc)
    {
        // A refusal surfaces as SQLITE_AUTH, or as SQLITE_ERROR "not authorized to use function ...".
        string reason = _authorizer.Refused is { } refused ? "not allowed in a script's database: " + refused : (rc & 0xFF) switch
        {
            raw.SQLITE_INTERRUPT => _stopReason ?? "interrupted",
            raw.SQLITE_FULL => $"the account's database is full (limit {Mebibytes(_limits.MaxDatabaseBytes)})",
            raw.SQLITE_AUTH => "not allowed in a script's database",
            raw.SQLITE_TOOBIG => $"{Message(rc)} (a string, blob or row may have at most {Mebibytes(_limits.MaxValueBytes)}, "
                + $"a statement at most {AccountDatabaseLimits.MaxSqlBytes.ToString(CultureInfo.InvariantCulture)} bytes)",
            raw.SQLITE_NOMEM => $"{Message(rc)} (SQLite could not allocate memory)",
            _ => Message(rc),
        };
        return new AccountDatabaseException("SQL error: " + reason);
    }

    /// <summary>"4 MiB", or bytes when not a whole number of MiB.</summary>
    public static string Mebibytes(long bytes) => bytes % (1024 * 1024) == 0
        ? (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + " MiB"
        : bytes.ToString(CultureInfo.InvariantCulture) + " bytes";

    /// <inheritdoc/>
    public void Dispose() => _database.Dispose();

    private string Message(int rc) => raw.sqlite3_errmsg(Handle).utf8_to_string() ?? "error " + rc.ToString(CultureInfo.InvariantCulture);

    // Called by SQLite every GuardInterval instructions, on the thread running the statement.
    private bool ShouldStop()
    {
        if (Stopwatch.GetTimestamp() > _deadline)
        {
            _stopReason = "interrupted: the run's time budget ran out during SQL";
            return true;
        }
        // SQLite counts its memory process-wide, so a statement running at the same time on another
        // worker counts here too; that one is itself stopped at the limit, so the error is brief.
        if (raw.sqlite3_memory_used() - _memoryAtStart > _limits.MaxStatementMemoryBytes)
        {
            _stopReason = $"the statement needs more than {Mebibytes(_limits.MaxStatementMemoryBytes)} of memory (sorting, grouping or temporary results); "
                + "select fewer or smaller rows, or add an index";
            return true;
        }
        return false;
    }

    private static void Configure(sqlite3 db, int option, int value)
    {
        int rc = raw.sqlite3_db_config(db, option, value, out int now);
        if (rc != raw.SQLITE_OK || now != value)
        {
            throw new SqliteStoreException($"SQLite refused database option {option.ToString(CultureInfo.InvariantCulture)} = {value.ToString(CultureInfo.InvariantCulture)}", rc);
        }
    }
}

using IoTPE.Sqlite;
using System.Globalization;
using System.Text.Json;
using IoTPE.Engine.Scripts;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace IoTPE.Storage.Sqlite;

/// <summary>
/// Each account's SQL database: <c>&lt;data&gt;/accounts/&lt;account&gt;/account.db</c>, reached by its
/// scripts through <c>db.query</c>/<c>db.exec</c>. Parameters are always bound. A script cannot
/// leave its own file: an authorizer denies ATTACH, DETACH, VACUUM INTO and every PRAGMA except a
/// few read-only ones, and <c>load_extension</c>; a size cap protects the disk; a query running
/// past the run's time budget is interrupted.
/// </summary>
public sealed class SqliteAccountDatabases : IAccountDatabases, IDisposable
{
    private const int SQLITE_OK = 0;
    private const int SQLITE_DENY = 1;
    private const int SQLITE_PRAGMA = 19;
    private const int SQLITE_ATTACH = 24;
    private const int SQLITE_DETACH = 25;
    private const int SQLITE_FUNCTION = 31;
    private const int SQLITE_LIMIT_ATTACHED = 7;

    // Read-only pragmas a script may use to inspect its own schema.
    private static readonly HashSet<string> SchemaPragmas = new(StringComparer.OrdinalIgnoreCase)
    {
        "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
    };

    // Pragmas that are read-only without an argument and would change a setting with one.
    private static readonly HashSet<string> ReadOnlyPragmas = new(StringComparer.OrdinalIgnoreCase)
    {
        "user_version", "data_version", "page_count", "page_size", "freelist_count",
    };

    private static readonly delegate_authorizer Authorizer = Authorize;

    private readonly string _root;
    private readonly long _maxBytes;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, SqliteConnection> _open = new(StringComparer.Ordinal);

    /// <summary>Databases under <c>&lt;dataFolder&gt;/accounts/</c>, each capped at <paramref name="maxBytesPerAccount"/>.</summary>
    public SqliteAccountDatabases(string dataFolder, long maxBytesPerAccount = 64L * 1024 * 1024)
    {
        SqliteRuntime.Initialize();
        _root = Path.Combine(Path.GetFullPath(dataFolder), "accounts");
        _maxBytes = maxBytesPerAccount;
    }

    /// <summary>The file of <paramref name="account"/>'s database.</summary>
    public string PathOf(string account) => Path.Combine(_root, account, "account.db");

    /// <inheritdoc/>
    public void Query(string account, string sql, JsonElement parameters, Utf8JsonWriter result, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(result);
        result.WriteStartArray();
        Run(account, sql, parameters, timeout, statement =>
        {
            int columns = raw.sqlite3_column_count(statement);
            while (Step(statement) == raw.SQLITE_ROW)
            {
                result.WriteStartObject();
                for (int i = 0; i < columns; i++)
                {
                    result.WritePropertyName(raw.sqlite3_column_name(statement, i).utf8_to_string());
                    WriteValue(result, statement, i);
                }
                result.WriteEndObject();
            }
        });
        result.WriteEndArray();
    }

    /// <inheritdoc/>
    public void Execute(string account, string sql, JsonElement parameters, Utf8JsonWriter result, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(result);
        sqlite3 db = Open(account).Handle!;
        long changes = 0;
        Run(account, sql, parameters, timeout, statement =>
        {
            while (Step(statement) == raw.SQLITE_ROW)
            {
            }
            changes += raw.sqlite3_changes(db);
        });
        result.WriteStartObject();
        result.WriteNumber("changes", changes);
        result.WriteNumber("lastInsertRowid", raw.sqlite3_last_insert_rowid(db));
        result.WriteEndObject();
    }

    /// <inheritdoc/>
    public void Close(string account)
    {
        lock (_gate)
        {
            if (_open.Remove(account, out SqliteConnection? connection))
            {
                connection.Dispose();
            }
        }
    }

    /// <inheritdoc/>
    public bool Delete(string account)
    {
        lock (_gate)
        {
            if (_open.Remove(account, out SqliteConnection? connection))
            {
                connection.Dispose();
            }
            string folder = Path.GetDirectoryName(PathOf(account))!;
            if (!Directory.Exists(folder))
            {
                return false;
            }
            Directory.Delete(folder, recursive: true);
            return true;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            foreach (SqliteConnection connection in _open.Values)
            {
                connection.Dispose();
            }
            _open.Clear();
        }
    }

    /// <summary>
    /// Prepares and runs each statement of <paramref name="sql"/> in turn, binding the parameters
    /// to each (by position for <c>?</c>, by name for <c>:name</c>, <c>@name</c>, <c>$name</c>).
    /// </summary>
    private void Run(string account, string sql, JsonElement parameters, TimeSpan timeout, Action<sqlite3_stmt> body)
    {
        sqlite3 db = Open(account).Handle!;
        // The script's time budget keeps running during SQL: interrupt a statement that outlives it.
        using var interrupt = new Timer(_ => raw.sqlite3_interrupt(db), null, timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout, Timeout.InfiniteTimeSpan);
        ReadOnlySpan<byte> remaining = System.Text.Encoding.UTF8.GetBytes(sql);
        while (!remaining.IsEmpty)
        {
            int rc = raw.sqlite3_prepare_v2(db, remaining, out sqlite3_stmt statement, out ReadOnlySpan<byte> tail);
            using (statement)
            {
                Check(db, rc);
                remaining = tail;
                if (statement.IsInvalid)
                {
                    continue; // whitespace or a comment
                }
                Bind(statement, parameters);
                body(statement);
            }
        }
    }

    private int Step(sqlite3_stmt statement)
    {
        int rc = raw.sqlite3_step(statement);
        if (rc is not (raw.SQLITE_ROW or raw.SQLITE_DONE))
        {
            Check(raw.sqlite3_db_handle(statement), rc);
        }
        return rc;
    }

    private void Check(sqlite3 db, int rc)
    {
        if (rc == raw.SQLITE_OK)
        {
            return;
        }
        string reason = rc switch
        {
            raw.SQLITE_INTERRUPT => "interrupted: the run's time budget ran out during SQL",
            raw.SQLITE_FULL => $"the account's database is full (limit {_maxBytes / (1024 * 1024)} MiB)",
            raw.SQLITE_AUTH => "not allowed in a script's database (ATTACH, DETACH, VACUUM INTO, PRAGMAs that change settings, load_extension)",
            _ => raw.sqlite3_errmsg(db).utf8_to_string() ?? "error " + rc.ToString(CultureInfo.InvariantCulture),
        };
        throw new AccountDatabaseException("SQL error: " + reason);
    }

    private SqliteConnection Open(string account)
    {
        lock (_gate)
        {
            if (_open.TryGetValue(account, out SqliteConnection? existing))
            {
                return existing;
            }
            string path = PathOf(account);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 5 }.ToString());
            connection.Open();
            sqlite3 handle = connection.Handle!;
            raw.sqlite3_limit(handle, SQLITE_LIMIT_ATTACHED, 0);
            using (SqliteCommand setup = connection.CreateCommand())
            {
                setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA trusted_schema=OFF;";
                setup.ExecuteNonQuery();
                setup.CommandText = "PRAGMA page_size";
                long pageSize = (long)setup.ExecuteScalar()!;
                setup.CommandText = "PRAGMA max_page_count=" + (_maxBytes / pageSize).ToString(CultureInfo.InvariantCulture);
                setup.ExecuteNonQuery();
            }
            // Set last: from here on, PRAGMAs other than the read-only ones above are denied.
            raw.sqlite3_set_authorizer(handle, Authorizer, null);
            _open.Add(account, connection);
            return connection;
        }
    }

    private static int Authorize(object user_data, int action, utf8z arg1, utf8z arg2, utf8z database, utf8z trigger)
    {
        switch (action)
        {
            case SQLITE_ATTACH:
            case SQLITE_DETACH:
                return SQLITE_DENY;
            case SQLITE_PRAGMA:
                string pragma = arg1.utf8_to_string() ?? "";
                return SchemaPragmas.Contains(pragma) || (ReadOnlyPragmas.Contains(pragma) && arg2.utf8_to_string() is null) ? SQLITE_OK : SQLITE_DENY;
            case SQLITE_FUNCTION:
                return string.Equals(arg2.utf8_to_string(), "load_extension", StringComparison.OrdinalIgnoreCase) ? SQLITE_DENY : SQLITE_OK;
            default:
                return SQLITE_OK;
        }
    }

    private static void Bind(sqlite3_stmt statement, JsonElement parameters)
    {
        int count = raw.sqlite3_bind_parameter_count(statement);
        if (count == 0)
        {
            return;
        }
        switch (parameters.ValueKind)
        {
            case JsonValueKind.Array:
                int length = parameters.GetArrayLength();
                for (int i = 1; i <= count; i++)
                {
                    if (i > length)
                    {
                        throw new AccountDatabaseException($"SQL error: the statement has {count} parameters, {length} values were given");
                    }
                    BindValue(statement, i, parameters[i - 1], i.ToString(CultureInfo.InvariantCulture));
                }
                break;
            case JsonValueKind.Object:
                for (int i = 1; i <= count; i++)
                {
                    string? name = raw.sqlite3_bind_parameter_name(statement, i).utf8_to_string();
                    if (name is null || name.Length < 2 || !parameters.TryGetProperty(name[1..], out JsonElement value))
                    {
                        throw new AccountDatabaseException($"SQL error: no value for parameter {name ?? "?" + i.ToString(CultureInfo.InvariantCulture)}");
                    }
                    BindValue(statement, i, value, name);
                }
                break;
            default:
                throw new AccountDatabaseException($"SQL error: the statement has {count} parameters and no values were given");
        }
    }

    private static void BindValue(sqlite3_stmt statement, int index, JsonElement value, string name)
    {
        int rc = value.ValueKind switch
        {
            JsonValueKind.Null => raw.sqlite3_bind_null(statement, index),
            JsonValueKind.True => raw.sqlite3_bind_int64(statement, index, 1),
            JsonValueKind.False => raw.sqlite3_bind_int64(statement, index, 0),
            JsonValueKind.String => raw.sqlite3_bind_text(statement, index, value.GetString()!),
            JsonValueKind.Number => value.TryGetInt64(out long integer)
                ? raw.sqlite3_bind_int64(statement, index, integer)
                : raw.sqlite3_bind_double(statement, index, value.GetDouble()),
            _ => throw new AccountDatabaseException($"SQL parameter {name}: only null, booleans, numbers and strings can be bound"),
        };
        if (rc != raw.SQLITE_OK)
        {
            throw new AccountDatabaseException($"SQL parameter {name}: cannot be bound (error {rc.ToString(CultureInfo.InvariantCulture)})");
        }
    }

    private static void WriteValue(Utf8JsonWriter writer, sqlite3_stmt statement, int column)
    {
        switch (raw.sqlite3_column_type(statement, column))
        {
            case raw.SQLITE_INTEGER:
                writer.WriteNumberValue(raw.sqlite3_column_int64(statement, column));
                break;
            case raw.SQLITE_FLOAT:
                double real = raw.sqlite3_column_double(statement, column);
                if (double.IsFinite(real))
                {
                    writer.WriteNumberValue(real);
                }
                else
                {
                    writer.WriteNullValue();
                }
                break;
            case raw.SQLITE_TEXT:
                writer.WriteStringValue(raw.sqlite3_column_text(statement, column).utf8_to_string());
                break;
            case raw.SQLITE_BLOB:
                writer.WriteBase64StringValue(raw.sqlite3_column_blob(statement, column));
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }
}

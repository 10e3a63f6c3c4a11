using IoTPE.Sqlite;
using System.Globalization;
using System.Text.Json;
using IoTPE.Engine.Scripts;
using SQLitePCL;

namespace IoTPE.Engine.Storage.Sqlite;

/// <summary>
/// Each account's SQL database: <c>&lt;data&gt;/accounts/&lt;account&gt;/account.db</c>, reached by its
/// scripts through <c>db.query</c>/<c>db.exec</c>. Parameters are always bound. Only allow-listed SQL
/// compiles (<see cref="ScriptSqlAuthorizer"/>): a script cannot leave its own file, create TEMP
/// objects, load code or touch native pointers. Every statement is bounded (see
/// <see cref="AccountDatabaseLimits"/>): the file's size, each value's length, the memory a statement
/// takes, the bytes a query returns, and the run's time budget.
/// </summary>
public sealed class SqliteAccountDatabases : IAccountDatabases, IDisposable
{
    private readonly string _root;
    private readonly AccountDatabaseLimits _limits;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, AccountDatabaseConnection> _open = new(StringComparer.Ordinal);

    /// <summary>Databases under <c>&lt;dataFolder&gt;/accounts/</c>, each capped at <paramref name="maxBytesPerAccount"/>, with the other limits at their defaults.</summary>
    public SqliteAccountDatabases(string dataFolder, long maxBytesPerAccount = 64L * 1024 * 1024)
        : this(dataFolder, AccountDatabaseLimits.Default with { MaxDatabaseBytes = maxBytesPerAccount })
    {
    }

    /// <summary>Databases under <c>&lt;dataFolder&gt;/accounts/</c>, bounded by <paramref name="limits"/>.</summary>
    public SqliteAccountDatabases(string dataFolder, AccountDatabaseLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        SqliteRuntime.Initialize();
        _root = Path.Combine(Path.GetFullPath(dataFolder), "accounts");
        _limits = limits;
    }

    /// <summary>
    /// Asked before each statement that writes (<c>sqlite3_stmt_readonly</c> false: INSERT, UPDATE,
    /// DELETE, CREATE, DROP, ALTER): null lets it run, a text refuses it with that text as the script's
    /// SQL error. The host sets it to the disk reserve, so a script cannot fill the disk the control
    /// plane needs; reads and transaction control always run. Null: never refused.
    /// </summary>
    public Func<string?>? WriteRefusal { get; init; }

    /// <summary>The file of <paramref name="account"/>'s database.</summary>
    public string PathOf(string account) => Path.Combine(_root, account, "account.db");

    /// <inheritdoc/>
    public void Query(string account, string sql, JsonElement parameters, Utf8JsonWriter result, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(result);
        long start = result.BytesCommitted + result.BytesPending;
        result.WriteStartArray();
        Run(account, sql, parameters, timeout, (connection, statement) =>
        {
            int columns = raw.sqlite3_column_count(statement);
            while (connection.Step(statement))
            {
                result.WriteStartObject();
                for (int i = 0; i < columns; i++)
                {
                    // Checked before each value is read, so an oversized result stops at the cap
                    // (give or take one value, itself at most MaxValueBytes) rather than after it.
                    int type = raw.sqlite3_column_type(statement, i);
                    long size = type is raw.SQLITE_TEXT or raw.SQLITE_BLOB ? raw.sqlite3_column_bytes(statement, i) : 0;
                    if (result.BytesCommitted + result.BytesPending - start + size > _limits.MaxResultBytes)
                    {
                        throw new AccountDatabaseException($"SQL error: the query's result exceeds {AccountDatabaseConnection.Mebibytes(_limits.MaxResultBytes)}; "
                            + "select fewer rows (LIMIT/OFFSET) or fewer columns");
                    }
                    result.WritePropertyName(raw.sqlite3_column_name(statement, i).utf8_to_string());
                    WriteValue(result, statement, i, type);
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
        long changes = 0;
        sqlite3? db = null;
        Run(account, sql, parameters, timeout, (connection, statement) =>
        {
            db = connection.Handle;
            while (connection.Step(statement))
            {
            }
            changes += raw.sqlite3_changes(db);
        });
        result.WriteStartObject();
        result.WriteNumber("changes", changes);
        result.WriteNumber("lastInsertRowid", db is null ? 0 : raw.sqlite3_last_insert_rowid(db));
        result.WriteEndObject();
    }

    /// <inheritdoc/>
    public void Close(string account)
    {
        lock (_gate)
        {
            if (_open.Remove(account, out AccountDatabaseConnection? connection))
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
            if (_open.Remove(account, out AccountDatabaseConnection? connection))
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
            foreach (AccountDatabaseConnection connection in _open.Values)
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
    private void Run(string account, string sql, JsonElement parameters, TimeSpan timeout, Action<AccountDatabaseConnection, sqlite3_stmt> body)
    {
        AccountDatabaseConnection connection = Open(account);
        // The script's time budget keeps running during SQL: a statement that outlives it is stopped.
        connection.BeginCall(timeout);
        ReadOnlySpan<byte> remaining = System.Text.Encoding.UTF8.GetBytes(sql);
        while (!remaining.IsEmpty)
        {
            using sqlite3_stmt statement = connection.Prepare(remaining, out remaining);
            if (statement.IsInvalid)
            {
                continue; // whitespace or a comment
            }
            if (WriteRefusal is { } refusal && raw.sqlite3_stmt_readonly(statement) == 0 && refusal() is { } reason)
            {
                throw new AccountDatabaseException("SQL error: " + reason);
            }
            Bind(statement, parameters);
            body(connection, statement);
        }
    }

    private AccountDatabaseConnection Open(string account)
    {
        lock (_gate)
        {
            if (_open.TryGetValue(account, out AccountDatabaseConnection? existing))
            {
                return existing;
            }
            string path = PathOf(account);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AccountDatabaseConnection connection;
            try
            {
                connection = AccountDatabaseConnection.Open(path, _limits);
            }
            catch (SqliteStoreException e)
            {
                throw new AccountDatabaseException("SQL error: the account's database cannot be opened: " + e.Message);
            }
            _open.Add(account, connection);
            return connection;
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
            throw new AccountDatabaseException(rc == raw.SQLITE_TOOBIG
                ? $"SQL parameter {name}: the value is too long"
                : $"SQL parameter {name}: cannot be bound (error {rc.ToString(CultureInfo.InvariantCulture)})");
        }
    }

    private static void WriteValue(Utf8JsonWriter writer, sqlite3_stmt statement, int column, int type)
    {
        switch (type)
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

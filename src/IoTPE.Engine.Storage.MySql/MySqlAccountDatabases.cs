using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using IoTPE.Engine.Scripts;
using MySqlConnector;

namespace IoTPE.Engine.Storage.MySql;

/// <summary>
/// Each account's own database on the central engine's server (the database named like the account),
/// reached by its scripts through <c>db.query</c>/<c>db.exec</c> as the account's engine-managed script
/// user (<see cref="ScriptUsers"/>): isolation between accounts is the server's privilege system, not
/// an allow-list in iotpe, so a script of A that reads <c>b.t</c>, creates a database or grants
/// anything gets the server's permission error. Parameters are always bound. Each call runs with
/// <c>max_statement_time</c> set to what is left of the run's time budget (and is cancelled from the
/// client side as well); a query's result is capped at <see cref="MySqlAccountDatabaseLimits.MaxResultBytes"/>;
/// past the storage quota, statements that could add data are refused.
/// </summary>
public sealed partial class MySqlAccountDatabases : IAccountDatabases
{
    // ER_STATEMENT_TIMEOUT: "Query execution was interrupted (max_statement_time exceeded)".
    private const int MariaDbStatementTimeout = 1969;

    private readonly MySqlAccountDatabaseLimits _limits;
    private readonly ScriptUsers _users;
    private readonly string _server;
    private readonly ConcurrentDictionary<string, string> _connectionStrings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long Bytes, long CheckedAt)> _sizes = new(StringComparer.Ordinal);

    /// <summary>Databases on the server of <paramref name="database"/>, bounded by <paramref name="limits"/> (null: the defaults).</summary>
    public MySqlAccountDatabases(MySqlServiceDatabase database, MySqlAccountDatabaseLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _limits = limits ?? MySqlAccountDatabaseLimits.Default;
        _users = new ScriptUsers(database, _limits);
        var builder = new MySqlConnectionStringBuilder(database.ServerConnectionString)
        {
            Pooling = true,
            MinimumPoolSize = 0,
            MaximumPoolSize = (uint)Math.Max(1, _limits.MaxConnectionsPerAccount / 2),
            AllowUserVariables = true,
        };
        _server = builder.ConnectionString;
    }

    /// <inheritdoc/>
    public void Query(string account, string sql, JsonElement parameters, Utf8JsonWriter result, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(result);
        long start = result.BytesCommitted + result.BytesPending;
        Run(account, sql, parameters, timeout, command =>
        {
            using MySqlDataReader reader = command.ExecuteReader();
            result.WriteStartArray();
            do
            {
                while (reader.Read())
                {
                    result.WriteStartObject();
                    for (int i = 0; i < reader.FieldCount; i++)
                    {
                        object value = reader.GetValue(i);
                        long size = value switch { string s => s.Length * 3L, byte[] b => b.Length * 4L / 3, _ => 16 };
                        if (result.BytesCommitted + result.BytesPending - start + size > _limits.MaxResultBytes)
                        {
                            throw new AccountDatabaseException($"SQL error: the query's result exceeds {Mebibytes(_limits.MaxResultBytes)}; select fewer rows (LIMIT/OFFSET) or fewer columns");
                        }
                        result.WritePropertyName(reader.GetName(i));
                        WriteValue(result, value);
                    }
                    result.WriteEndObject();
                }
            }
            while (reader.NextResult());
            result.WriteEndArray();
        });
    }

    /// <inheritdoc/>
    public void Execute(string account, string sql, JsonElement parameters, Utf8JsonWriter result, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(result);
        Run(account, sql, parameters, timeout, command =>
        {
            long changes = command.ExecuteNonQuery();
            result.WriteStartObject();
            result.WriteNumber("changes", Math.Max(0, changes));
            result.WriteNumber("lastInsertRowid", command.LastInsertedId);
            result.WriteEndObject();
        });
        _sizes.TryRemove(account, out _); // what it wrote counts at the next check
    }

    /// <inheritdoc/>
    public void Close(string account)
    {
        if (_connectionStrings.TryRemove(account, out string? connectionString))
        {
            using var connection = new MySqlConnection(connectionString);
            MySqlConnection.ClearPool(connection);
        }
    }

    /// <inheritdoc/>
    public bool Delete(string account)
    {
        Close(account);
        return _users.Drop(account);
    }

    private void Run(string account, string sql, JsonElement parameters, TimeSpan timeout, Action<MySqlCommand> body)
    {
        if (timeout <= TimeSpan.Zero)
        {
            throw new AccountDatabaseException("SQL error: the run's time limit is used up");
        }
        try
        {
            using MySqlConnection connection = Open(account);
            RefuseIfOverQuota(account, sql, connection);
            using var cancel = new CancellationTokenSource(timeout);
            // The server stops a statement that outlives the run (MariaDB's max_statement_time, in
            // seconds); the cancellation below (KILL QUERY from the client) covers a script that sets
            // max_statement_time itself.
            using (var limit = new MySqlCommand("SET SESSION max_statement_time = " + timeout.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture), connection))
            {
                limit.ExecuteNonQuery();
            }
            using var command = new MySqlCommand(sql, connection);
            Bind(command, parameters);
            using CancellationTokenRegistration registration = cancel.Token.Register(command.Cancel);
            body(command);
        }
        catch (MySqlException e) when (e.Number is MariaDbStatementTimeout || e.ErrorCode is MySqlErrorCode.QueryInterrupted)
        {
            throw new AccountDatabaseException($"SQL error: the statement was stopped at the run's time limit ({e.Message})");
        }
        catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.UnableToConnectToHost)
        {
            throw new AccountDatabaseException("SQL error: the database server is unreachable: " + e.Message);
        }
        catch (MySqlException e)
        {
            throw new AccountDatabaseException("SQL error: " + e.Message);
        }
        catch (InvalidOperationException e)
        {
            throw new AccountDatabaseException("SQL error: " + e.Message); // MySqlConnector's parameter errors
        }
    }

    private MySqlConnection Open(string account)
    {
        string connectionString = _connectionStrings.GetOrAdd(account, a => new MySqlConnectionStringBuilder(_server)
        {
            UserID = ScriptUsers.NameOf(a),
            Password = _users.PasswordOf(a),
            Database = a,
        }.ConnectionString);
        var connection = new MySqlConnection(connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.AccessDenied or MySqlErrorCode.DatabaseAccessDenied or MySqlErrorCode.UnknownDatabase)
        {
            // The script user was dropped or its password changed outside iotpe: made again next time.
            connection.Dispose();
            _connectionStrings.TryRemove(account, out _);
            throw;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    // Checked at most once a second per account (and after each db.exec): information_schema's
    // sizes come from the storage engine's statistics, which are themselves a little behind.
    private void RefuseIfOverQuota(string account, string sql, MySqlConnection connection)
    {
        long now = Environment.TickCount64;
        if (!_sizes.TryGetValue(account, out var known) || now - known.CheckedAt > 1000)
        {
            using var size = new MySqlCommand(
                "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()", connection);
            known = (Convert.ToInt64(size.ExecuteScalar(), CultureInfo.InvariantCulture), now);
            _sizes[account] = known;
        }
        if (known.Bytes > _limits.MaxDatabaseBytes && AddsData().IsMatch(sql))
        {
            throw new AccountDatabaseException($"SQL error: the account's database takes {Mebibytes(known.Bytes)}, more than its quota of {Mebibytes(_limits.MaxDatabaseBytes)}; "
                + "delete rows or drop tables before adding more");
        }
    }

    [GeneratedRegex(@"\b(INSERT|UPDATE|REPLACE|CREATE|ALTER|LOAD|SET)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AddsData();

    private static void Bind(MySqlCommand command, JsonElement parameters)
    {
        switch (parameters.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (JsonElement value in parameters.EnumerateArray())
                {
                    command.Parameters.Add(new MySqlParameter { Value = ValueOf(value, "?") });
                }
                break;
            case JsonValueKind.Object:
                foreach (JsonProperty property in parameters.EnumerateObject())
                {
                    command.Parameters.AddWithValue("@" + property.Name, ValueOf(property.Value, property.Name));
                }
                break;
            case JsonValueKind.Undefined or JsonValueKind.Null:
                break;
            default:
                throw new AccountDatabaseException("SQL error: parameters are an array (for ?) or an object (for @name)");
        }
    }

    private static object ValueOf(JsonElement value, string name) => value.ValueKind switch
    {
        JsonValueKind.Null => DBNull.Value,
        JsonValueKind.True => 1,
        JsonValueKind.False => 0,
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.TryGetInt64(out long integer) ? integer : value.GetDouble(),
        _ => throw new AccountDatabaseException($"SQL parameter {name}: only null, booleans, numbers and strings can be bound"),
    };

    private static void WriteValue(Utf8JsonWriter writer, object value)
    {
        switch (value)
        {
            case DBNull:
                writer.WriteNullValue();
                break;
            case long or int or short or sbyte or byte or uint or ushort:
                writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case ulong unsigned:
                writer.WriteNumberValue(unsigned);
                break;
            case decimal number:
                writer.WriteNumberValue(number);
                break;
            case double or float:
                double real = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (double.IsFinite(real))
                {
                    writer.WriteNumberValue(real);
                }
                else
                {
                    writer.WriteNullValue();
                }
                break;
            case bool flag:
                writer.WriteBooleanValue(flag);
                break;
            case string text:
                writer.WriteStringValue(text);
                break;
            case byte[] bytes:
                writer.WriteBase64StringValue(bytes);
                break;
            case DateTime time:
                writer.WriteStringValue(time.ToString("yyyy-MM-dd HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture));
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static string Mebibytes(long bytes) => bytes % (1024 * 1024) == 0
        ? (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + " MiB"
        : (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";
}

using System.Globalization;
using IoTPE.Engine.Scripts;
using MySqlConnector;

namespace IoTPE.Engine.Storage.MySql;

/// <summary>
/// Every version of every account's scripts, and their schedules, in the service database. A new
/// version is stored by the procedure <c>script_save_for</c>, the same one an account's own
/// <c>iotpe script load --mysql</c> reaches through <c>script_load</c>. Thread-safe.
/// </summary>
public sealed class MySqlScriptStore(MySqlServiceDatabase database) : IScriptStore
{
    private const string Area = "scripts";
    private long _lastVersion;

    /// <inheritdoc/>
    public long ChangeVersion
    {
        get
        {
            try
            {
                using MySqlConnection connection = database.Open();
                return _lastVersion = database.ChangeVersion(connection, Area);
            }
            catch (MySqlException)
            {
                return _lastVersion; // unreachable: the scripts in memory stay until it is back
            }
        }
    }

    /// <inheritdoc/>
    public StoredScript? Save(string account, string name, string text, ScriptQuota quota, out long bytesNeeded)
    {
        ArgumentNullException.ThrowIfNull(quota);
        using MySqlConnection connection = database.Open();
        using MySqlCommand command = MySqlServiceDatabase.Command(connection, "CALL script_save_for(@account, @name, @text, @kept, @max)", null,
            ("@account", account), ("@name", name), ("@text", text), ("@kept", quota.VersionsKept), ("@max", quota.MaxBytes));
        using MySqlDataReader reader = command.ExecuteReader();
        reader.Read();
        bytesNeeded = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
        if (reader.IsDBNull(0))
        {
            return null;
        }
        return new StoredScript(account, name, Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture), text,
            DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture)));
    }

    /// <inheritdoc/>
    public StoredScript? GetLatest(string account, string name) =>
        QueryOne("SELECT account, name, version, text, created_at FROM scripts WHERE account = @account AND name = @name ORDER BY version DESC LIMIT 1", account, name, null);

    /// <inheritdoc/>
    public StoredScript? Get(string account, string name, int version) =>
        QueryOne("SELECT account, name, version, text, created_at FROM scripts WHERE account = @account AND name = @name AND version = @version", account, name, version);

    /// <inheritdoc/>
    public IReadOnlyList<StoredScript> List(string account)
    {
        using MySqlConnection connection = database.Open();
        using MySqlCommand command = MySqlServiceDatabase.Command(connection, """
            SELECT s.account, s.name, s.version, s.text, s.created_at FROM scripts s
            WHERE s.account = @account AND s.version = (SELECT MAX(version) FROM scripts WHERE account = s.account AND name = s.name)
            ORDER BY s.name
            """, null, ("@account", account));
        return Read(command);
    }

    /// <inheritdoc/>
    public bool Remove(string account, string name)
    {
        using MySqlConnection connection = database.Open();
        using MySqlTransaction transaction = connection.BeginTransaction();
        using MySqlCommand delete = MySqlServiceDatabase.Command(connection, "DELETE FROM scripts WHERE account = @account AND name = @name", transaction, ("@account", account), ("@name", name));
        bool removed = delete.ExecuteNonQuery() > 0;
        using MySqlCommand schedule = MySqlServiceDatabase.Command(connection, "DELETE FROM script_schedules WHERE account = @account AND name = @name", transaction, ("@account", account), ("@name", name));
        schedule.ExecuteNonQuery();
        MySqlServiceDatabase.Touch(connection, transaction, Area);
        transaction.Commit();
        return removed;
    }

    /// <inheritdoc/>
    public void SetSchedule(string account, string name, int? everySeconds)
    {
        using MySqlConnection connection = database.Open();
        using MySqlTransaction transaction = connection.BeginTransaction();
        using MySqlCommand command = everySeconds is { } every
            ? MySqlServiceDatabase.Command(connection, "INSERT INTO script_schedules(account, name, every_seconds) VALUES (@account, @name, @every) ON DUPLICATE KEY UPDATE every_seconds = @every",
                transaction, ("@account", account), ("@name", name), ("@every", every))
            : MySqlServiceDatabase.Command(connection, "DELETE FROM script_schedules WHERE account = @account AND name = @name", transaction, ("@account", account), ("@name", name));
        command.ExecuteNonQuery();
        MySqlServiceDatabase.Touch(connection, transaction, Area);
        transaction.Commit();
    }

    /// <inheritdoc/>
    public IReadOnlyList<ScriptSchedule> Schedules()
    {
        using MySqlConnection connection = database.Open();
        using MySqlCommand command = MySqlServiceDatabase.Command(connection, "SELECT account, name, every_seconds FROM script_schedules ORDER BY account, name");
        using MySqlDataReader reader = command.ExecuteReader();
        var schedules = new List<ScriptSchedule>();
        while (reader.Read())
        {
            schedules.Add(new ScriptSchedule(reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
        }
        return schedules;
    }

    private StoredScript? QueryOne(string sql, string account, string name, int? version)
    {
        using MySqlConnection connection = database.Open();
        using MySqlCommand command = MySqlServiceDatabase.Command(connection, sql, null, ("@account", account), ("@name", name), ("@version", version));
        List<StoredScript> found = Read(command);
        return found.Count > 0 ? found[0] : null;
    }

    private static List<StoredScript> Read(MySqlCommand command)
    {
        using MySqlDataReader reader = command.ExecuteReader();
        var scripts = new List<StoredScript>();
        while (reader.Read())
        {
            scripts.Add(new StoredScript(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
        }
        return scripts;
    }
}

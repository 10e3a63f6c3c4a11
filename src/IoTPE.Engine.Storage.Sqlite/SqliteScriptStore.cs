using IoTPE.Engine.Scripts;
using Microsoft.Data.Sqlite;

namespace IoTPE.Engine.Storage.Sqlite;

/// <summary>Every version of every account's scripts, and their schedules, in <c>engine.db</c>. Thread-safe.</summary>
public sealed class SqliteScriptStore(SqliteEngineDatabase database) : IScriptStore
{
    private const string Area = "scripts";

    /// <inheritdoc/>
    public long ChangeVersion => database.ChangeVersion(Area);

    /// <inheritdoc/>
    public StoredScript? Save(string account, string name, string text, ScriptQuota quota, out long bytesNeeded)
    {
        ArgumentNullException.ThrowIfNull(quota);
        lock (database.Gate)
        {
            using SqliteTransaction transaction = database.Connection.BeginTransaction();
            using SqliteCommand next = database.Command("SELECT COALESCE(MAX(version), 0) + 1 FROM scripts WHERE account = $account AND name = $name", transaction);
            next.Parameters.AddWithValue("$account", account);
            next.Parameters.AddWithValue("$name", name);
            int version = Convert.ToInt32(next.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            var script = new StoredScript(account, name, version, text, DateTimeOffset.UtcNow);
            using SqliteCommand insert = database.Command("INSERT INTO scripts(account, name, version, text, created_at) VALUES ($account, $name, $version, $text, $created)", transaction);
            insert.Parameters.AddWithValue("$account", account);
            insert.Parameters.AddWithValue("$name", name);
            insert.Parameters.AddWithValue("$version", version);
            insert.Parameters.AddWithValue("$text", text);
            insert.Parameters.AddWithValue("$created", script.CreatedAt.ToUnixTimeMilliseconds());
            insert.ExecuteNonQuery();
            // Old versions go first, so that reloading a large script keeps fitting its quota.
            using SqliteCommand prune = database.Command("DELETE FROM scripts WHERE account = $account AND name = $name AND version <= $oldest", transaction);
            prune.Parameters.AddWithValue("$account", account);
            prune.Parameters.AddWithValue("$name", name);
            prune.Parameters.AddWithValue("$oldest", version - quota.VersionsKept);
            prune.ExecuteNonQuery();
            using SqliteCommand size = database.Command("SELECT COALESCE(SUM(length(CAST(text AS BLOB))), 0) FROM scripts WHERE account = $account", transaction);
            size.Parameters.AddWithValue("$account", account);
            bytesNeeded = (long)size.ExecuteScalar()!;
            if (bytesNeeded > quota.MaxBytes)
            {
                transaction.Rollback();
                return null;
            }
            database.Touch(Area, transaction);
            transaction.Commit();
            return script;
        }
    }

    /// <inheritdoc/>
    public StoredScript? GetLatest(string account, string name) =>
        QueryOne("SELECT account, name, version, text, created_at FROM scripts WHERE account = $account AND name = $name ORDER BY version DESC LIMIT 1", account, name, null);

    /// <inheritdoc/>
    public StoredScript? Get(string account, string name, int version) =>
        QueryOne("SELECT account, name, version, text, created_at FROM scripts WHERE account = $account AND name = $name AND version = $version", account, name, version);

    /// <inheritdoc/>
    public IReadOnlyList<StoredScript> List(string account)
    {
        lock (database.Gate)
        {
            using SqliteCommand command = database.Command("""
                SELECT s.account, s.name, s.version, s.text, s.created_at FROM scripts s
                WHERE s.account = $account AND s.version = (SELECT MAX(version) FROM scripts WHERE account = s.account AND name = s.name)
                ORDER BY s.name
                """);
            command.Parameters.AddWithValue("$account", account);
            return Read(command);
        }
    }

    /// <inheritdoc/>
    public bool Remove(string account, string name)
    {
        lock (database.Gate)
        {
            using SqliteTransaction transaction = database.Connection.BeginTransaction();
            using SqliteCommand delete = database.Command("DELETE FROM scripts WHERE account = $account AND name = $name", transaction);
            delete.Parameters.AddWithValue("$account", account);
            delete.Parameters.AddWithValue("$name", name);
            bool removed = delete.ExecuteNonQuery() > 0;
            using SqliteCommand schedule = database.Command("DELETE FROM script_schedules WHERE account = $account AND name = $name", transaction);
            schedule.Parameters.AddWithValue("$account", account);
            schedule.Parameters.AddWithValue("$name", name);
            schedule.ExecuteNonQuery();
            database.Touch(Area, transaction);
            transaction.Commit();
            return removed;
        }
    }

    /// <inheritdoc/>
    public void SetSchedule(string account, string name, int? everySeconds)
    {
        lock (database.Gate)
        {
            using SqliteTransaction transaction = database.Connection.BeginTransaction();
            using SqliteCommand command = everySeconds is { } every
                ? database.Command("INSERT INTO script_schedules(account, name, every_seconds) VALUES ($account, $name, $every) ON CONFLICT(account, name) DO UPDATE SET every_seconds = $every", transaction)
                : database.Command("DELETE FROM script_schedules WHERE account = $account AND name = $name", transaction);
            command.Parameters.AddWithValue("$account", account);
            command.Parameters.AddWithValue("$name", name);
            if (everySeconds is { } seconds)
            {
                command.Parameters.AddWithValue("$every", seconds);
            }
            command.ExecuteNonQuery();
            database.Touch(Area, transaction);
            transaction.Commit();
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<ScriptSchedule> Schedules()
    {
        lock (database.Gate)
        {
            using SqliteCommand command = database.Command("SELECT account, name, every_seconds FROM script_schedules ORDER BY account, name");
            using SqliteDataReader reader = command.ExecuteReader();
            var schedules = new List<ScriptSchedule>();
            while (reader.Read())
            {
                schedules.Add(new ScriptSchedule(reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
            }
            return schedules;
        }
    }

    private StoredScript? QueryOne(string sql, string account, string name, int? version)
    {
        lock (database.Gate)
        {
            using SqliteCommand command = database.Command(sql);
            command.Parameters.AddWithValue("$account", account);
            command.Parameters.AddWithValue("$name", name);
            if (version is { } v)
            {
                command.Parameters.AddWithValue("$version", v);
            }
            IReadOnlyList<StoredScript> found = Read(command);
            return found.Count > 0 ? found[0] : null;
        }
    }

    private static List<StoredScript> Read(SqliteCommand command)
    {
        using SqliteDataReader reader = command.ExecuteReader();
        var scripts = new List<StoredScript>();
        while (reader.Read())
        {
            scripts.Add(new StoredScript(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4))));
        }
        return scripts;
    }
}

using System.Globalization;
using IoTPE.Engine.Scripts;
using Microsoft.Data.Sqlite;

namespace IoTPE.Engine.Storage.Sqlite;

/// <summary>
/// Started-run marks and quarantined requests in <c>engine.db</c> (tables created on first use,
/// so that the schema version stays as it is). Thread-safe.
/// </summary>
public sealed class SqliteRunAttemptStore : IRunAttemptStore
{
    private readonly SqliteEngineDatabase _database;

    /// <summary>Opens the store on <paramref name="database"/>, creating its tables if needed.</summary>
    public SqliteRunAttemptStore(SqliteEngineDatabase database)
    {
        _database = database;
        lock (database.Gate)
        {
            using SqliteCommand create = database.Command("""
                CREATE TABLE IF NOT EXISTS run_attempts(request_id INTEGER PRIMARY KEY, started INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS quarantined_runs(account TEXT NOT NULL, topic TEXT NOT NULL, at TEXT NOT NULL);
                """);
            create.ExecuteNonQuery();
        }
    }

    /// <inheritdoc/>
    public int MarkStarted(long requestId)
    {
        lock (_database.Gate)
        {
            using SqliteCommand upsert = _database.Command(
                "INSERT INTO run_attempts(request_id, started) VALUES ($id, 1) ON CONFLICT(request_id) DO UPDATE SET started = started + 1 RETURNING started");
            upsert.Parameters.AddWithValue("$id", requestId);
            return (int)(long)upsert.ExecuteScalar()! - 1;
        }
    }

    /// <inheritdoc/>
    public void MarkFinished(long requestId)
    {
        lock (_database.Gate)
        {
            using SqliteCommand delete = _database.Command("DELETE FROM run_attempts WHERE request_id = $id");
            delete.Parameters.AddWithValue("$id", requestId);
            delete.ExecuteNonQuery();
        }
    }

    /// <inheritdoc/>
    public void ForgetAllExcept(IReadOnlyCollection<long> keep)
    {
        lock (_database.Gate)
        {
            using SqliteTransaction transaction = _database.Connection.BeginTransaction();
            using SqliteCommand read = _database.Command("SELECT request_id FROM run_attempts", transaction);
            var stale = new List<long>();
            using (SqliteDataReader reader = read.ExecuteReader())
            {
                while (reader.Read())
                {
                    long id = reader.GetInt64(0);
                    if (!keep.Contains(id))
                    {
                        stale.Add(id);
                    }
                }
            }
            using SqliteCommand delete = _database.Command("DELETE FROM run_attempts WHERE request_id = $id", transaction);
            SqliteParameter parameter = delete.Parameters.Add("$id", SqliteType.Integer);
            foreach (long id in stale)
            {
                parameter.Value = id;
                delete.ExecuteNonQuery();
            }
            transaction.Commit();
        }
    }

    /// <inheritdoc/>
    public void AddQuarantined(QuarantinedRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        lock (_database.Gate)
        {
            using SqliteCommand insert = _database.Command("INSERT INTO quarantined_runs(account, topic, at) VALUES ($account, $topic, $at)");
            insert.Parameters.AddWithValue("$account", run.Account);
            insert.Parameters.AddWithValue("$topic", run.Topic);
            insert.Parameters.AddWithValue("$at", run.At.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            insert.ExecuteNonQuery();
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<QuarantinedRun> Quarantined(string account)
    {
        lock (_database.Gate)
        {
            using SqliteCommand select = _database.Command("SELECT topic, at FROM quarantined_runs WHERE account = $account ORDER BY rowid");
            select.Parameters.AddWithValue("$account", account);
            using SqliteDataReader reader = select.ExecuteReader();
            var runs = new List<QuarantinedRun>();
            while (reader.Read())
            {
                runs.Add(new QuarantinedRun(account, reader.GetString(0), DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)));
            }
            return runs;
        }
    }
}

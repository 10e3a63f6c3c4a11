using IoTPE.Engine.Scripts;
using MySqlConnector;

namespace IoTPE.Engine.Storage.MySql;

/// <summary>Started-run marks and quarantined requests in the service database. Thread-safe.</summary>
public sealed class MySqlRunAttemptStore(MySqlServiceDatabase database) : IRunAttemptStore
{
    /// <inheritdoc/>
    public int MarkStarted(long requestId)
    {
        using MySqlConnection connection = database.Open();
        using MySqlTransaction transaction = connection.BeginTransaction();
        using MySqlCommand upsert = MySqlServiceDatabase.Command(connection,
            "INSERT INTO run_attempts(request_id, started) VALUES (@id, 1) ON DUPLICATE KEY UPDATE started = started + 1", transaction, ("@id", requestId));
        upsert.ExecuteNonQuery();
        using MySqlCommand read = MySqlServiceDatabase.Command(connection, "SELECT started FROM run_attempts WHERE request_id = @id", transaction, ("@id", requestId));
        int started = Convert.ToInt32(read.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        transaction.Commit();
        return started - 1;
    }

    /// <inheritdoc/>
    public void MarkFinished(long requestId)
    {
        using MySqlConnection connection = database.Open();
        using MySqlCommand delete = MySqlServiceDatabase.Command(connection, "DELETE FROM run_attempts WHERE request_id = @id", null, ("@id", requestId));
        delete.ExecuteNonQuery();
    }

    /// <inheritdoc/>
    public void ForgetAllExcept(IReadOnlyCollection<long> keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        using MySqlConnection connection = database.Open();
        var kept = new HashSet<long>(keep);
        var gone = new List<long>();
        using (MySqlCommand all = MySqlServiceDatabase.Command(connection, "SELECT request_id FROM run_attempts"))
        using (MySqlDataReader reader = all.ExecuteReader())
        {
            while (reader.Read())
            {
                if (!kept.Contains(reader.GetInt64(0)))
                {
                    gone.Add(reader.GetInt64(0));
                }
            }
        }
        foreach (long id in gone)
        {
            using MySqlCommand delete = MySqlServiceDatabase.Command(connection, "DELETE FROM run_attempts WHERE request_id = @id", null, ("@id", id));
            delete.ExecuteNonQuery();
        }
    }

    /// <inheritdoc/>
    public void AddQuarantined(QuarantinedRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        using MySqlConnection connection = database.Open();
        using MySqlCommand insert = MySqlServiceDatabase.Command(connection, "INSERT INTO quarantined_runs(account, topic, at) VALUES (@account, @topic, @at)", null,
            ("@account", run.Account), ("@topic", run.Topic), ("@at", run.At.ToUnixTimeMilliseconds()));
        insert.ExecuteNonQuery();
    }

    /// <inheritdoc/>
    public IReadOnlyList<QuarantinedRun> Quarantined(string account)
    {
        using MySqlConnection connection = database.Open();
        using MySqlCommand select = MySqlServiceDatabase.Command(connection, "SELECT topic, at FROM quarantined_runs WHERE account = @account ORDER BY id", null, ("@account", account));
        using MySqlDataReader reader = select.ExecuteReader();
        var runs = new List<QuarantinedRun>();
        while (reader.Read())
        {
            runs.Add(new QuarantinedRun(account, reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))));
        }
        return runs;
    }
}

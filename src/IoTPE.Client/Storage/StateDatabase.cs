using System.Globalization;
using IoTPE.Mqtt;
using Microsoft.Data.Sqlite;

namespace IoTPE.Client.Storage;

/// <summary>
/// The state file's connection and its prepared statements. Not thread-safe: <see cref="StateStore"/>'s writer
/// thread is its only user once the store has started. The file is opened in exclusive locking mode, so a second
/// process (or client) cannot share a session's state by mistake.
/// </summary>
internal sealed class StateDatabase : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _insertOutgoing;
    private readonly SqliteCommand _setOutgoingPacketId;
    private readonly SqliteCommand _releaseOutgoing;
    private readonly SqliteCommand _deleteOutgoing;
    private readonly SqliteCommand _readOutgoing;
    private readonly SqliteCommand _insertIncoming;
    private readonly SqliteCommand _deleteIncoming;
    private readonly SqliteCommand _countIncomingAttempt;
    private readonly SqliteCommand _detachIncoming;
    private readonly SqliteCommand _insertDeadLetter;
    private readonly List<SqliteCommand> _commands = [];
    private SqliteTransaction? _transaction;

    private StateDatabase(SqliteConnection connection)
    {
        _connection = connection;
        _insertOutgoing = Prepare(
            "INSERT INTO outgoing (packet_id, qos, topic, packet, created_at) VALUES ($pid, $qos, $topic, $packet, $at) RETURNING seq",
            "$pid", "$qos", "$topic", "$packet", "$at");
        _setOutgoingPacketId = Prepare("UPDATE outgoing SET packet_id = $pid WHERE seq = $seq", "$pid", "$seq");
        _releaseOutgoing = Prepare("UPDATE outgoing SET released = 1 WHERE seq = $seq", "$seq");
        _deleteOutgoing = Prepare("DELETE FROM outgoing WHERE seq = $seq", "$seq");
        _readOutgoing = Prepare(
            "SELECT seq, packet_id, qos, released, packet FROM outgoing WHERE seq > $after ORDER BY seq LIMIT $limit",
            "$after", "$limit");
        _insertIncoming = Prepare(
            "INSERT INTO incoming (packet_id, topic, packet, received_at) VALUES ($pid, $topic, $packet, $at) RETURNING id",
            "$pid", "$topic", "$packet", "$at");
        _deleteIncoming = Prepare("DELETE FROM incoming WHERE id = $id", "$id");
        _countIncomingAttempt = Prepare("UPDATE incoming SET attempts = attempts + 1 WHERE id = $id", "$id");
        _detachIncoming = Prepare("UPDATE incoming SET packet_id = NULL WHERE packet_id IS NOT NULL");
        _insertDeadLetter = Prepare(
            "INSERT INTO dead_letter (direction, reason, attempts, error, topic, packet, at) VALUES ($direction, $reason, $attempts, $error, $topic, $packet, $at)",
            "$direction", "$reason", "$attempts", "$error", "$topic", "$packet", "$at");
    }

    /// <summary>Opens (creating if needed) the state file of <paramref name="clientId"/>.</summary>
    /// <exception cref="InvalidOperationException">The file belongs to another client or schema version.</exception>
    public static StateDatabase Open(string path, SqliteSynchronous synchronous, string clientId)
    {
        IoTPE.Sqlite.SqliteRuntime.Initialize();
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 2, // Seconds to retry a locked file: nobody else should hold it, so fail fast if someone does.
        };
        var connection = new SqliteConnection(builder.ConnectionString);
        try
        {
            connection.Open();

            // Exclusive: the first write below takes the lock and keeps it until the connection closes (or the process dies).
            Execute(connection, "PRAGMA locking_mode = EXCLUSIVE");
            Execute(connection, "PRAGMA journal_mode = WAL");
            Execute(connection, "PRAGMA synchronous = " + ((int)synchronous).ToString(CultureInfo.InvariantCulture));
            Execute(connection, "PRAGMA foreign_keys = OFF");
            Execute(connection, StateSchema.Create);
            CheckOwner(connection, clientId);
            return new StateDatabase(connection);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6)
        {
            connection.Dispose();
            throw new InvalidOperationException($"The state file {path} is in use by another client (SQLite: {ex.Message}).", ex);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Starts the transaction that the next writes belong to.</summary>
    public void Begin()
    {
        _transaction = _connection.BeginTransaction(deferred: false);
        foreach (SqliteCommand command in _commands)
        {
            command.Transaction = _transaction;
        }
    }

    /// <summary>Commits the transaction.</summary>
    public void Commit()
    {
        SqliteTransaction transaction = _transaction ?? throw new InvalidOperationException("No transaction.");
        _transaction = null;
        try
        {
            transaction.Commit();
        }
        finally
        {
            transaction.Dispose();
        }
    }

    /// <summary>Abandons the transaction, if one is open.</summary>
    public void Rollback()
    {
        SqliteTransaction? transaction = _transaction;
        _transaction = null;
        if (transaction is not null)
        {
            try
            {
                transaction.Rollback();
            }
            catch (SqliteException)
            {
                // A failed COMMIT may already have ended it.
            }
            finally
            {
                transaction.Dispose();
            }
        }
    }

    /// <summary>Marks a point the transaction can return to (<see cref="RollbackToSavepoint"/>), so one failed unit of work spares the others.</summary>
    public void Savepoint() => _transaction!.Save("work");

    /// <summary>Keeps the work since <see cref="Savepoint"/>.</summary>
    public void ReleaseSavepoint() => _transaction!.Release("work");

    /// <summary>Undoes the work since <see cref="Savepoint"/>.</summary>
    public void RollbackToSavepoint()
    {
        _transaction!.Rollback("work");
        _transaction.Release("work");
    }

    public long InsertOutgoing(ushort packetId, QualityOfService qos, string topic, byte[] packet) =>
        (long)Run(_insertOutgoing, Nullable(packetId), (long)qos, topic, packet, NowMs())!;

    public void SetOutgoingPacketId(long seq, ushort packetId) => Run(_setOutgoingPacketId, (long)packetId, seq);

    public void ReleaseOutgoing(long seq) => Run(_releaseOutgoing, seq);

    public void DeleteOutgoing(long seq) => Run(_deleteOutgoing, seq);

    /// <summary>Up to <paramref name="limit"/> outgoing rows after <paramref name="afterSeq"/>, in send order.</summary>
    public List<OutgoingRow> ReadOutgoing(long afterSeq, int limit)
    {
        Bind(_readOutgoing, afterSeq, (long)limit);
        var rows = new List<OutgoingRow>();
        using SqliteDataReader reader = _readOutgoing.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(new OutgoingRow(
                reader.GetInt64(0),
                reader.IsDBNull(1) ? (ushort)0 : (ushort)reader.GetInt64(1),
                (QualityOfService)reader.GetInt64(2),
                reader.GetInt64(3) != 0,
                (byte[])reader.GetValue(4)));
        }

        return rows;
    }

    /// <summary>Every outgoing packet identifier in use (they must not be handed out again).</summary>
    public List<ushort> ReadOutgoingPacketIds()
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = "SELECT packet_id FROM outgoing WHERE packet_id IS NOT NULL";
        command.Transaction = _transaction;
        var ids = new List<ushort>();
        using SqliteDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            ids.Add((ushort)reader.GetInt64(0));
        }

        return ids;
    }

    public long InsertIncoming(ushort packetId, string topic, byte[] packet) =>
        (long)Run(_insertIncoming, Nullable(packetId), topic, packet, NowMs())!;

    public void DeleteIncoming(long id) => Run(_deleteIncoming, id);

    public void CountIncomingAttempt(long id) => Run(_countIncomingAttempt, id);

    public void DetachIncomingPacketIds() => Run(_detachIncoming);

    /// <summary>Every incoming row, in arrival order.</summary>
    public List<IncomingRow> ReadIncoming()
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = "SELECT id, packet_id, attempts, packet FROM incoming ORDER BY id";
        command.Transaction = _transaction;
        var rows = new List<IncomingRow>();
        using SqliteDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(new IncomingRow(
                reader.GetInt64(0),
                reader.IsDBNull(1) ? (ushort)0 : (ushort)reader.GetInt64(1),
                (int)reader.GetInt64(2),
                (byte[])reader.GetValue(3)));
        }

        return rows;
    }

    public void InsertDeadLetter(bool incoming, DeadLetterReason reason, int attempts, string error, string topic, byte[] packet) =>
        Run(_insertDeadLetter, incoming ? "in" : "out", reason.ToString(), (long)attempts, error, topic, packet, NowMs());

    public void Dispose()
    {
        Rollback();
        foreach (SqliteCommand command in _commands)
        {
            command.Dispose();
        }

        _connection.Dispose();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void CheckOwner(SqliteConnection connection, string clientId)
    {
        using SqliteCommand upsert = connection.CreateCommand();
        upsert.CommandText = """
            INSERT INTO client_meta (key, value) VALUES ('client_id', $client) ON CONFLICT (key) DO NOTHING;
            INSERT INTO client_meta (key, value) VALUES ('schema_version', $version) ON CONFLICT (key) DO NOTHING;
            SELECT (SELECT value FROM client_meta WHERE key = 'client_id'), (SELECT value FROM client_meta WHERE key = 'schema_version');
            """;
        upsert.Parameters.AddWithValue("$client", clientId);
        upsert.Parameters.AddWithValue("$version", StateSchema.Version.ToString(CultureInfo.InvariantCulture));
        using SqliteDataReader reader = upsert.ExecuteReader();
        reader.Read();
        string owner = reader.GetString(0);
        string version = reader.GetString(1);
        if (owner != clientId)
        {
            throw new InvalidOperationException($"The state file belongs to client '{owner}', not '{clientId}': each client identifier needs its own file.");
        }

        if (version != StateSchema.Version.ToString(CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"The state file has schema version {version}; this client reads version {StateSchema.Version}.");
        }
    }

    private static object Nullable(ushort packetId) => packetId == 0 ? DBNull.Value : (long)packetId;

    private static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static void Bind(SqliteCommand command, params ReadOnlySpan<object> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }
    }

    private static object? Run(SqliteCommand command, params ReadOnlySpan<object> values)
    {
        Bind(command, values);
        return command.ExecuteScalar();
    }

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (string name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        _commands.Add(command);
        return command;
    }
}

using System.Globalization;
using IoTPE.Mqtt;
using Microsoft.Data.Sqlite;

namespace IoTPE.Client.Storage;

/// <summary>
/// The state file's connection and its prepared statements. Not thread-safe: <see cref="StateStore"/>'s writer
/// thread is its only user once the store has started. One client at a time owns the file: it holds an exclusive lock
/// on the file <c>&lt;state file&gt;.lock</c> beside it (<see cref="StateFileOwnership"/>), so a second process (or
/// client) cannot share a session's state by mistake, while SQLite's own locking stays normal so that other processes
/// can read the file as it is written (e.g. <c>iotpe bridge status</c>, read-only, in WAL mode).
/// </summary>
internal sealed class StateDatabase : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly StateFileOwnership _ownership;
    private readonly SqliteCommand _insertOutgoing;
    private readonly SqliteCommand _insertNewOutgoing;
    private readonly SqliteCommand _releaseOutgoingRows;
    private readonly SqliteCommand _rememberDeliveredRows;
    private readonly SqliteCommand _deleteOutgoingRows;
    private readonly System.Text.StringBuilder _seqList = new();
    private readonly SqliteCommand _setOutgoingPacketId;
    private readonly SqliteCommand _deleteOutgoing;
    private readonly SqliteCommand _readOutgoing;
    private readonly SqliteCommand _insertIncoming;
    private readonly SqliteCommand _deleteIncoming;
    private readonly SqliteCommand _countIncomingAttempt;
    private readonly SqliteCommand _detachIncoming;
    private readonly SqliteCommand _insertDeadLetter;
    private readonly SqliteCommand _findIdentity;
    private readonly SqliteCommand _insertDelivered;
    private readonly SqliteCommand _pruneDelivered;
    private readonly SqliteCommand _savepoint;
    private readonly SqliteCommand _releaseSavepoint;
    private readonly SqliteCommand _rollbackToSavepoint;
    private readonly List<SqliteCommand> _commands = [];
    private SqliteTransaction? _transaction;

    private StateDatabase(SqliteConnection connection, StateFileOwnership ownership)
    {
        _connection = connection;
        _ownership = ownership;
        _insertOutgoing = Prepare(
            "INSERT INTO outgoing (packet_id, qos, topic, packet, created_at, message_id) VALUES ($pid, $qos, $topic, $packet, $at, $mid) RETURNING seq",
            "$pid", "$qos", "$topic", "$packet", "$at", "$mid");
        // A publish with an identity in one statement: inserted only if the identity is neither stored nor delivered.
        _insertNewOutgoing = Prepare(
            "INSERT INTO outgoing (packet_id, qos, topic, packet, created_at, message_id) SELECT $pid, $qos, $topic, $packet, $at, $mid " +
            "WHERE NOT EXISTS (SELECT 1 FROM outgoing WHERE message_id = $mid) AND NOT EXISTS (SELECT 1 FROM delivered WHERE message_id = $mid) RETURNING seq",
            "$pid", "$qos", "$topic", "$packet", "$at", "$mid");

        // Rows named by a JSON array of seqs: one statement for every PUBREC or PUBCOMP of a group commit, instead of one each.
        _releaseOutgoingRows = Prepare("UPDATE outgoing SET released = 1 WHERE seq IN (SELECT value FROM json_each($seqs))", "$seqs");
        _rememberDeliveredRows = Prepare(
            "INSERT INTO delivered (message_id, refused, at) SELECT message_id, NULL, $at FROM outgoing " +
            "WHERE seq IN (SELECT value FROM json_each($seqs)) AND message_id IS NOT NULL ORDER BY seq ON CONFLICT (message_id) DO NOTHING",
            "$seqs", "$at");
        _deleteOutgoingRows = Prepare("DELETE FROM outgoing WHERE seq IN (SELECT value FROM json_each($seqs))", "$seqs");
        _setOutgoingPacketId = Prepare("UPDATE outgoing SET packet_id = $pid WHERE seq = $seq", "$pid", "$seq");
        _deleteOutgoing = Prepare("DELETE FROM outgoing WHERE seq = $seq", "$seq");
        _readOutgoing = Prepare(
            "SELECT seq, packet_id, qos, released, packet, message_id FROM outgoing WHERE seq > $after ORDER BY seq LIMIT $limit",
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
        // One statement for both places an identity can be (a step less per publish); stored first, as it was checked first.
        _findIdentity = Prepare(
            "SELECT 0, seq FROM outgoing WHERE message_id = $mid UNION ALL SELECT 1, refused FROM delivered WHERE message_id = $mid LIMIT 1",
            "$mid");
        _insertDelivered = Prepare(
            "INSERT INTO delivered (message_id, refused, at) VALUES ($mid, $refused, $at) ON CONFLICT (message_id) DO NOTHING",
            "$mid", "$refused", "$at");
        _pruneDelivered = Prepare("DELETE FROM delivered WHERE id <= (SELECT max(id) FROM delivered) - $keep", "$keep");

        // Every unit of work of a group commit runs under a savepoint: prepared once, as they run twice per unit.
        _savepoint = Prepare("SAVEPOINT work");
        _releaseSavepoint = Prepare("RELEASE work");
        _rollbackToSavepoint = Prepare("ROLLBACK TO work");
    }

    /// <summary>Opens (creating if needed) the state file of <paramref name="clientId"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The file's folder does not exist.</exception>
    /// <exception cref="InvalidOperationException">The file belongs to another client, is in use, or has a newer schema version.</exception>
    /// <exception cref="IOException">SQLite cannot open or read the file (the message names it).</exception>
    public static StateDatabase Open(string path, SqliteSynchronous synchronous, string clientId)
    {
        IoTPE.Sqlite.SqliteRuntime.Initialize();
        string fullPath = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(fullPath);
        if (folder is not null && !Directory.Exists(folder))
        {
            // SQLite would only say "unable to open database file".
            throw new DirectoryNotFoundException($"The folder of the client's state file {fullPath} does not exist: create it, or set StatePath to a file in an existing folder.");
        }

        // Taken first and held for the connection's life: a second client fails here, before it touches the file.
        StateFileOwnership ownership = StateFileOwnership.Take(fullPath);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 2, // Seconds to retry a busy file: only short-lived readers share it.
        };
        var connection = new SqliteConnection(builder.ConnectionString);
        try
        {
            connection.Open();

            // Normal locking (not EXCLUSIVE): in WAL mode readers in other processes then see every commit and never
            // block this writer; ownership is the lock file's job.
            Execute(connection, "PRAGMA journal_mode = WAL");
            Execute(connection, "PRAGMA synchronous = " + ((int)synchronous).ToString(CultureInfo.InvariantCulture));
            Execute(connection, "PRAGMA foreign_keys = OFF");
            Execute(connection, StateSchema.Create);
            CheckOwner(connection, clientId, fullPath);
            Execute(connection, StateSchema.Indexes);
            return new StateDatabase(connection, ownership);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6)
        {
            connection.Dispose();
            ownership.Dispose();
            throw new InvalidOperationException($"The state file {fullPath} is in use by another client (SQLite: {ex.Message}).", ex);
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            ownership.Dispose();
            throw new IOException($"Cannot open the client's state file {fullPath}: {ex.Message}", ex);
        }
        catch
        {
            connection.Dispose();
            ownership.Dispose();
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
    public void Savepoint() => _savepoint.ExecuteNonQuery();

    /// <summary>Keeps the work since <see cref="Savepoint"/>.</summary>
    public void ReleaseSavepoint() => _releaseSavepoint.ExecuteNonQuery();

    /// <summary>Undoes the work since <see cref="Savepoint"/>.</summary>
    public void RollbackToSavepoint()
    {
        _rollbackToSavepoint.ExecuteNonQuery();
        _releaseSavepoint.ExecuteNonQuery();
    }

    public long InsertOutgoing(ushort packetId, QualityOfService qos, string topic, byte[] packet, string? messageId) =>
        (long)Run(_insertOutgoing, Nullable(packetId), (long)qos, topic, packet, NowMs(), (object?)messageId ?? DBNull.Value)!;

    /// <summary>
    /// Inserts a publish with an application identity unless that identity is stored or delivered already (then
    /// <see cref="FindIdentity"/> says where); returns its send order, or null when nothing was inserted.
    /// </summary>
    public long? InsertNewOutgoing(ushort packetId, QualityOfService qos, string topic, byte[] packet, string messageId) =>
        Run(_insertNewOutgoing, Nullable(packetId), (long)qos, topic, packet, NowMs(), messageId) is long seq ? seq : null;

    /// <summary>Marks the rows of <paramref name="messages"/> released (PUBREC received), with one statement.</summary>
    public void ReleaseOutgoing(List<Session.OutgoingMessage> messages) => Run(_releaseOutgoingRows, SeqList(messages));

    /// <summary>
    /// Deletes the rows of <paramref name="messages"/> (their flows ended), remembering their identities as delivered
    /// first, in send order; returns how many identities were remembered. Two statements for any number of rows.
    /// </summary>
    public int FinishOutgoing(List<Session.OutgoingMessage> messages)
    {
        string seqs = SeqList(messages);
        int identities = 0;
        foreach (Session.OutgoingMessage message in messages)
        {
            identities += message.MessageId is null ? 0 : 1;
        }

        if (identities > 0)
        {
            Run(_rememberDeliveredRows, seqs, NowMs());
        }

        Run(_deleteOutgoingRows, seqs);
        return identities;
    }

    /// <summary>
    /// Where a publish with this application identity is: <see cref="PublishStatus.AlreadyStored"/> (pending, its row in
    /// <paramref name="seq"/>), <see cref="PublishStatus.AlreadyDelivered"/> (among those remembered; the broker's
    /// refusal, if it refused it, in <paramref name="refused"/>), or <see cref="PublishStatus.Stored"/> when it is new.
    /// </summary>
    public PublishStatus FindIdentity(string messageId, out long seq, out ReasonCode? refused)
    {
        seq = 0;
        refused = null;
        Bind(_findIdentity, messageId);
        using SqliteDataReader reader = _findIdentity.ExecuteReader();
        if (!reader.Read())
        {
            return PublishStatus.Stored;
        }

        if (reader.GetInt64(0) == 0)
        {
            seq = reader.GetInt64(1);
            return PublishStatus.AlreadyStored;
        }

        refused = reader.IsDBNull(1) ? null : (ReasonCode)reader.GetInt64(1);
        return PublishStatus.AlreadyDelivered;
    }

    /// <summary>Remembers that the flow of the publish with this identity ended (<paramref name="refused"/>: the broker's refusal).</summary>
    public void InsertDelivered(string messageId, ReasonCode? refused) =>
        Run(_insertDelivered, messageId, refused is { } code ? (long)code : DBNull.Value, NowMs());

    /// <summary>Forgets all but the <paramref name="keep"/> most recently delivered identities.</summary>
    public void PruneDelivered(int keep) => Run(_pruneDelivered, (long)keep);

    public void SetOutgoingPacketId(long seq, ushort packetId) => Run(_setOutgoingPacketId, (long)packetId, seq);

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
                (byte[])reader.GetValue(4),
                reader.IsDBNull(5) ? null : reader.GetString(5)));
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
        _ownership.Dispose(); // Last: the file is closed, another client may take it now.
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void CheckOwner(SqliteConnection connection, string clientId, string fullPath)
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
        reader.Close();
        if (owner != clientId)
        {
            throw new InvalidOperationException($"The state file {fullPath} belongs to client '{owner}', not '{clientId}': each client identifier needs its own file.");
        }

        if (!int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out int found) || found < 1 || found > StateSchema.Version)
        {
            throw new InvalidOperationException($"The state file {fullPath} has schema version {version}; this client reads versions 1 to {StateSchema.Version}.");
        }

        for (; found < StateSchema.Version; found++)
        {
            using SqliteTransaction upgrade = connection.BeginTransaction();
            using SqliteCommand command = connection.CreateCommand();
            command.Transaction = upgrade;
            command.CommandText = StateSchema.Upgrades[found - 1] + "; UPDATE client_meta SET value = $version WHERE key = 'schema_version'";
            command.Parameters.AddWithValue("$version", (found + 1).ToString(CultureInfo.InvariantCulture));
            command.ExecuteNonQuery();
            upgrade.Commit();
        }
    }

    /// <summary>The seqs of <paramref name="messages"/> as a JSON array (for <c>json_each</c>).</summary>
    private string SeqList(List<Session.OutgoingMessage> messages)
    {
        _seqList.Clear().Append('[');
        for (int i = 0; i < messages.Count; i++)
        {
            if (i > 0)
            {
                _seqList.Append(',');
            }

            _seqList.Append(CultureInfo.InvariantCulture, $"{messages[i].Seq}");
        }

        return _seqList.Append(']').ToString();
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

using System.Globalization;
using IoTPE.Mqtt;
using IoTPE.Sqlite;
using SQLitePCL;

namespace IoTPE.Client.Storage;

/// <summary>
/// The state file's connection and its prepared statements. Not thread-safe: <see cref="StateStore"/>'s writer
/// thread is its only user once the store has started. One client at a time owns the file: it holds an exclusive lock
/// on the file <c>&lt;state file&gt;.lock</c> beside it (<see cref="StateFileOwnership"/>), so a second process (or
/// client) cannot share a session's state by mistake, while SQLite's own locking stays normal so that other processes
/// can read the file as it is written (e.g. <c>iotpe bridge status</c>, read-only, in WAL mode). It speaks SQLite's C API
/// through <see cref="SqliteStatement"/> (bind by index, step, reset): no ADO.NET objects, so a write allocates nothing
/// but its result.
/// </summary>
internal sealed class StateDatabase : IDisposable
{
    /// <summary>How long a write waits for a reader in another process to let go of the file (only short-lived readers share it).</summary>
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(2);

    private readonly SqliteDatabase _database;
    private readonly StateFileOwnership _ownership;

    // Parameters are bound by index: SQLite numbers named parameters in the order they first appear in the SQL.
    private readonly SqliteStatement _insertOutgoing;
    private readonly SqliteStatement _insertNewOutgoing;
    private readonly SqliteStatement _releaseOutgoingRows;
    private readonly SqliteStatement _rememberDeliveredRows;
    private readonly SqliteStatement _deleteOutgoingRows;
    private readonly SqliteStatement _setOutgoingPacketId;
    private readonly SqliteStatement _deleteOutgoing;
    private readonly SqliteStatement _readOutgoing;
    private readonly SqliteStatement _insertIncoming;
    private readonly SqliteStatement _deleteIncoming;
    private readonly SqliteStatement _countIncomingAttempt;
    private readonly SqliteStatement _detachIncoming;
    private readonly SqliteStatement _insertDeadLetter;
    private readonly SqliteStatement _findIdentity;
    private readonly SqliteStatement _insertDelivered;
    private readonly SqliteStatement _pruneDelivered;
    private readonly SqliteStatement _begin;
    private readonly SqliteStatement _commit;
    private readonly SqliteStatement _rollback;
    private readonly SqliteStatement _savepoint;
    private readonly SqliteStatement _releaseSavepoint;
    private readonly SqliteStatement _rollbackToSavepoint;

    /// <summary>Reused to build the JSON list of seqs for the statements over many rows.</summary>
    private readonly System.Text.StringBuilder _seqList = new();

    private StateDatabase(SqliteDatabase database, StateFileOwnership ownership)
    {
        _database = database;
        _ownership = ownership;
        _insertOutgoing = database.Prepare(
            "INSERT INTO outgoing (packet_id, qos, topic, packet, created_at, message_id) VALUES ($pid, $qos, $topic, $packet, $at, $mid) RETURNING seq");
        // A publish with an identity in one statement: inserted only if the identity is neither stored nor delivered.
        _insertNewOutgoing = database.Prepare(
            "INSERT INTO outgoing (packet_id, qos, topic, packet, created_at, message_id) SELECT $pid, $qos, $topic, $packet, $at, $mid " +
            "WHERE NOT EXISTS (SELECT 1 FROM outgoing WHERE message_id = $mid) AND NOT EXISTS (SELECT 1 FROM delivered WHERE message_id = $mid) RETURNING seq");

        // Rows named by a JSON array of seqs: one statement for every PUBREC or PUBCOMP of a group commit, instead of one each.
        _releaseOutgoingRows = database.Prepare("UPDATE outgoing SET released = 1 WHERE seq IN (SELECT value FROM json_each($seqs))");
        _rememberDeliveredRows = database.Prepare(
            "INSERT INTO delivered (message_id, refused, at) SELECT message_id, NULL, $at FROM outgoing " +
            "WHERE seq IN (SELECT value FROM json_each($seqs)) AND message_id IS NOT NULL ORDER BY seq ON CONFLICT (message_id) DO NOTHING");
        _deleteOutgoingRows = database.Prepare("DELETE FROM outgoing WHERE seq IN (SELECT value FROM json_each($seqs))");
        _setOutgoingPacketId = database.Prepare("UPDATE outgoing SET packet_id = $pid WHERE seq = $seq");
        _deleteOutgoing = database.Prepare("DELETE FROM outgoing WHERE seq = $seq");
        _readOutgoing = database.Prepare(
            "SELECT seq, packet_id, qos, released, packet, message_id FROM outgoing WHERE seq > $after ORDER BY seq LIMIT $limit");
        _insertIncoming = database.Prepare(
            "INSERT INTO incoming (packet_id, topic, packet, received_at) VALUES ($pid, $topic, $packet, $at) RETURNING id");
        _deleteIncoming = database.Prepare("DELETE FROM incoming WHERE id = $id");
        _countIncomingAttempt = database.Prepare("UPDATE incoming SET attempts = attempts + 1 WHERE id = $id");
        _detachIncoming = database.Prepare("UPDATE incoming SET packet_id = NULL WHERE packet_id IS NOT NULL");
        _insertDeadLetter = database.Prepare(
            "INSERT INTO dead_letter (direction, reason, attempts, error, topic, packet, at) VALUES ($direction, $reason, $attempts, $error, $topic, $packet, $at)");
        // One statement for both places an identity can be (a step less per publish); stored first, as it was checked first.
        _findIdentity = database.Prepare(
            "SELECT 0, seq FROM outgoing WHERE message_id = $mid UNION ALL SELECT 1, refused FROM delivered WHERE message_id = $mid LIMIT 1");
        _insertDelivered = database.Prepare(
            "INSERT INTO delivered (message_id, refused, at) VALUES ($mid, $refused, $at) ON CONFLICT (message_id) DO NOTHING");
        _pruneDelivered = database.Prepare("DELETE FROM delivered WHERE id <= (SELECT max(id) FROM delivered) - $keep");

        // IMMEDIATE: the write lock is taken at BEGIN, so a reader in another process can delay a batch but never fail it halfway.
        _begin = database.Prepare("BEGIN IMMEDIATE");
        _commit = database.Prepare("COMMIT");
        _rollback = database.Prepare("ROLLBACK");

        // Every unit of work of a group commit runs under a savepoint: prepared once, as they run twice per unit.
        _savepoint = database.Prepare("SAVEPOINT work");
        _releaseSavepoint = database.Prepare("RELEASE work");
        _rollbackToSavepoint = database.Prepare("ROLLBACK TO work");
    }

    /// <summary>Opens (creating if needed) the state file of <paramref name="clientId"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The file's folder does not exist.</exception>
    /// <exception cref="InvalidOperationException">The file belongs to another client, is in use, or has a newer schema version.</exception>
    /// <exception cref="IOException">SQLite cannot open or read the file (the message names it).</exception>
    public static StateDatabase Open(string path, SqliteSynchronous synchronous, string clientId)
    {
        string fullPath = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(fullPath);
        if (folder is not null && !Directory.Exists(folder))
        {
            // SQLite would only say "unable to open database file".
            throw new DirectoryNotFoundException($"The folder of the client's state file {fullPath} does not exist: create it, or set StatePath to a file in an existing folder.");
        }

        // Taken first and held for the connection's life: a second client fails here, before it touches the file.
        StateFileOwnership ownership = StateFileOwnership.Take(fullPath);
        SqliteDatabase? database = null;
        try
        {
            database = SqliteDatabase.Open(fullPath);
            database.SetBusyTimeout(BusyTimeout);

            // Normal locking (not EXCLUSIVE): in WAL mode readers in other processes then see every commit and never
            // block this writer; ownership is the lock file's job.
            database.Execute("PRAGMA journal_mode = WAL");
            database.Execute("PRAGMA synchronous = " + ((int)synchronous).ToString(CultureInfo.InvariantCulture));
            database.Execute("PRAGMA foreign_keys = OFF");
            database.Execute(StateSchema.Create);
            CheckOwner(database, clientId, fullPath);
            database.Execute(StateSchema.Indexes);
            return new StateDatabase(database, ownership);
        }
        catch (SqliteStoreException ex) when (SqliteResultCodes.Primary(ex.ResultCode) is raw.SQLITE_BUSY or raw.SQLITE_LOCKED)
        {
            database?.Dispose();
            ownership.Dispose();
            throw new InvalidOperationException($"The state file {fullPath} is in use by another client (SQLite: {ex.Message}).", ex);
        }
        catch (SqliteStoreException ex)
        {
            database?.Dispose();
            ownership.Dispose();
            throw new IOException($"Cannot open the client's state file {fullPath}: {ex.Message}", ex);
        }
        catch
        {
            database?.Dispose();
            ownership.Dispose();
            throw;
        }
    }

    /// <summary>Starts the transaction that the next writes belong to.</summary>
    public void Begin() => _begin.Run();

    /// <summary>Commits the transaction.</summary>
    public void Commit()
    {
        if (!_database.InTransaction)
        {
            throw new InvalidOperationException("No transaction.");
        }

        _commit.Run();
    }

    /// <summary>Abandons the transaction, if one is open (a failed COMMIT may already have ended it).</summary>
    public void Rollback()
    {
        if (_database.InTransaction)
        {
            _rollback.Execute();
        }
    }

    /// <summary>Marks a point the transaction can return to (<see cref="RollbackToSavepoint"/>), so one failed unit of work spares the others.</summary>
    public void Savepoint() => _savepoint.Run();

    /// <summary>Keeps the work since <see cref="Savepoint"/>.</summary>
    public void ReleaseSavepoint() => _releaseSavepoint.Run();

    /// <summary>Undoes the work since <see cref="Savepoint"/>.</summary>
    public void RollbackToSavepoint()
    {
        _rollbackToSavepoint.Run();
        _releaseSavepoint.Run();
    }

    public long InsertOutgoing(ushort packetId, QualityOfService qos, string topic, byte[] packet, string? messageId)
    {
        BindOutgoing(_insertOutgoing, packetId, qos, topic, packet, messageId);
        return RunReturning(_insertOutgoing) ?? throw new InvalidOperationException("INSERT ... RETURNING returned no row.");
    }

    /// <summary>
    /// Inserts a publish with an application identity unless that identity is stored or delivered already (then
    /// <see cref="FindIdentity"/> says where); returns its send order, or null when nothing was inserted.
    /// </summary>
    public long? InsertNewOutgoing(ushort packetId, QualityOfService qos, string topic, byte[] packet, string messageId)
    {
        BindOutgoing(_insertNewOutgoing, packetId, qos, topic, packet, messageId);
        return RunReturning(_insertNewOutgoing);
    }

    /// <summary>Marks the rows of <paramref name="messages"/> released (PUBREC received), with one statement.</summary>
    public void ReleaseOutgoing(List<Session.OutgoingMessage> messages)
    {
        _releaseOutgoingRows.BindText(1, SeqList(messages));
        _releaseOutgoingRows.Run();
    }

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
            _rememberDeliveredRows.BindInt64(1, NowMs()); // $at comes first in its SQL.
            _rememberDeliveredRows.BindText(2, seqs);
            _rememberDeliveredRows.Run();
        }

        _deleteOutgoingRows.BindText(1, seqs);
        _deleteOutgoingRows.Run();
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
        _findIdentity.BindText(1, messageId);
        try
        {
            if (!_findIdentity.StepRow())
            {
                return PublishStatus.Stored;
            }

            if (_findIdentity.ReadInt64(0) == 0)
            {
                seq = _findIdentity.ReadInt64(1);
                return PublishStatus.AlreadyStored;
            }

            refused = _findIdentity.ReadNullableInt64(1) is long code ? (ReasonCode)code : null;
            return PublishStatus.AlreadyDelivered;
        }
        finally
        {
            _findIdentity.Reset();
        }
    }

    /// <summary>Remembers that the flow of the publish with this identity ended (<paramref name="refused"/>: the broker's refusal).</summary>
    public void InsertDelivered(string messageId, ReasonCode? refused)
    {
        _insertDelivered.BindText(1, messageId);
        _insertDelivered.BindInt64(2, refused is { } code ? (long)code : null);
        _insertDelivered.BindInt64(3, NowMs());
        _insertDelivered.Run();
    }

    /// <summary>Forgets all but the <paramref name="keep"/> most recently delivered identities.</summary>
    public void PruneDelivered(int keep)
    {
        _pruneDelivered.BindInt64(1, keep);
        _pruneDelivered.Run();
    }

    public void SetOutgoingPacketId(long seq, ushort packetId)
    {
        _setOutgoingPacketId.BindInt64(1, packetId);
        _setOutgoingPacketId.BindInt64(2, seq);
        _setOutgoingPacketId.Run();
    }

    public void DeleteOutgoing(long seq)
    {
        _deleteOutgoing.BindInt64(1, seq);
        _deleteOutgoing.Run();
    }

    /// <summary>Up to <paramref name="limit"/> outgoing rows after <paramref name="afterSeq"/>, in send order.</summary>
    public List<OutgoingRow> ReadOutgoing(long afterSeq, int limit)
    {
        _readOutgoing.BindInt64(1, afterSeq);
        _readOutgoing.BindInt64(2, limit);
        var rows = new List<OutgoingRow>();
        try
        {
            while (_readOutgoing.StepRow())
            {
                rows.Add(new OutgoingRow(
                    _readOutgoing.ReadInt64(0),
                    (ushort)(_readOutgoing.ReadNullableInt64(1) ?? 0),
                    (QualityOfService)_readOutgoing.ReadInt64(2),
                    _readOutgoing.ReadInt64(3) != 0,
                    _readOutgoing.ReadBlob(4).ToArray(),
                    _readOutgoing.ReadText(5)));
            }
        }
        finally
        {
            _readOutgoing.Reset();
        }

        return rows;
    }

    /// <summary>Every outgoing packet identifier in use (they must not be handed out again).</summary>
    public List<ushort> ReadOutgoingPacketIds()
    {
        using SqliteStatement query = _database.Prepare("SELECT packet_id FROM outgoing WHERE packet_id IS NOT NULL");
        var ids = new List<ushort>();
        while (query.StepRow())
        {
            ids.Add((ushort)query.ReadInt64(0));
        }

        return ids;
    }

    public long InsertIncoming(ushort packetId, string topic, byte[] packet)
    {
        _insertIncoming.BindInt64(1, PacketIdOrNull(packetId));
        _insertIncoming.BindText(2, topic);
        _insertIncoming.BindBlob(3, packet);
        _insertIncoming.BindInt64(4, NowMs());
        return RunReturning(_insertIncoming) ?? throw new InvalidOperationException("INSERT ... RETURNING returned no row.");
    }

    public void DeleteIncoming(long id)
    {
        _deleteIncoming.BindInt64(1, id);
        _deleteIncoming.Run();
    }

    public void CountIncomingAttempt(long id)
    {
        _countIncomingAttempt.BindInt64(1, id);
        _countIncomingAttempt.Run();
    }

    public void DetachIncomingPacketIds() => _detachIncoming.Run();

    /// <summary>Every incoming row, in arrival order.</summary>
    public List<IncomingRow> ReadIncoming()
    {
        using SqliteStatement query = _database.Prepare("SELECT id, packet_id, attempts, packet FROM incoming ORDER BY id");
        var rows = new List<IncomingRow>();
        while (query.StepRow())
        {
            rows.Add(new IncomingRow(
                query.ReadInt64(0),
                (ushort)(query.ReadNullableInt64(1) ?? 0),
                (int)query.ReadInt64(2),
                query.ReadBlob(3).ToArray()));
        }

        return rows;
    }

    public void InsertDeadLetter(bool incoming, DeadLetterReason reason, int attempts, string error, string topic, byte[] packet)
    {
        _insertDeadLetter.BindText(1, incoming ? "in" : "out");
        _insertDeadLetter.BindText(2, reason.ToString());
        _insertDeadLetter.BindInt64(3, attempts);
        _insertDeadLetter.BindText(4, error);
        _insertDeadLetter.BindText(5, topic);
        _insertDeadLetter.BindBlob(6, packet);
        _insertDeadLetter.BindInt64(7, NowMs());
        _insertDeadLetter.Run();
    }

    public void Dispose()
    {
        Rollback();
        _database.Dispose(); // Finalizes every statement, then closes (checkpointing the WAL as the last connection).
        _ownership.Dispose(); // Last: the file is closed, another client may take it now.
    }

    private static void CheckOwner(SqliteDatabase database, string clientId, string fullPath)
    {
        using (SqliteStatement claim = database.Prepare("INSERT INTO client_meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO NOTHING"))
        {
            Claim(claim, "client_id", clientId);
            Claim(claim, "schema_version", StateSchema.Version.ToString(CultureInfo.InvariantCulture));
        }

        string owner = database.QueryText("SELECT value FROM client_meta WHERE key = 'client_id'") ?? string.Empty;
        string version = database.QueryText("SELECT value FROM client_meta WHERE key = 'schema_version'") ?? string.Empty;
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
            string next = (found + 1).ToString(CultureInfo.InvariantCulture);
            database.Execute("BEGIN IMMEDIATE");
            try
            {
                database.Execute(StateSchema.Upgrades[found - 1] + "; UPDATE client_meta SET value = '" + next + "' WHERE key = 'schema_version'; COMMIT");
            }
            catch
            {
                database.TryExecute("ROLLBACK");
                throw;
            }
        }

        static void Claim(SqliteStatement claim, string key, string value)
        {
            claim.BindText(1, key);
            claim.BindText(2, value);
            claim.Run();
        }
    }

    /// <summary>Binds the six parameters the two outgoing inserts share.</summary>
    private static void BindOutgoing(SqliteStatement insert, ushort packetId, QualityOfService qos, string topic, byte[] packet, string? messageId)
    {
        insert.BindInt64(1, PacketIdOrNull(packetId));
        insert.BindInt64(2, (long)qos);
        insert.BindText(3, topic);
        insert.BindBlob(4, packet);
        insert.BindInt64(5, NowMs());
        insert.BindText(6, messageId);
    }

    /// <summary>Runs an INSERT ... RETURNING of one integer: the value, or null when nothing was inserted.</summary>
    private static long? RunReturning(SqliteStatement statement)
    {
        try
        {
            // SQLite makes every change of the statement at its first step; reset finishes it.
            return statement.StepRow() ? statement.ReadInt64(0) : null;
        }
        finally
        {
            statement.Reset();
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

            _seqList.Append(messages[i].Seq);
        }

        return _seqList.Append(']').ToString();
    }

    private static long? PacketIdOrNull(ushort packetId) => packetId == 0 ? null : packetId;

    private static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}

using IoTPE.Sqlite;

namespace IoTPE.Edge.Commands;

/// <summary>
/// A bridge's state as its files hold it, read without the broker (which may be running or
/// stopped): its durable queue in <c>broker.db</c> (the deliveries of the session
/// <c>$iotpe/bridge/&lt;name&gt;</c>) and what its client has taken over in <c>bridge-&lt;name&gt;.db</c>
/// (publishes stored and not yet completed by the remote). Whether the link is up is not in any
/// file: only the running broker knows it (<c>$SYS/broker/bridge/&lt;name&gt;/connected</c>).
/// </summary>
/// <param name="Name">The bridge.</param>
/// <param name="QueuedMessages">Deliveries queued or in flight to the bridge's local session.</param>
/// <param name="QueuedBytes">Their bytes as the broker counts them (topic, payload and 64 per delivery), within the size of their MQTT properties.</param>
/// <param name="OldestStoredAtUnixMs">When the oldest of them was stored (Unix ms), or null when none is queued or the time is unknown (stored before schema 5).</param>
/// <param name="PendingInClient">Publishes in the client's state file not yet completed by the remote, or null when it cannot be read.</param>
/// <param name="StateFileInUse">The client's state file could not be read (held in exclusive locking mode by an earlier version's running client), so <paramref name="PendingInClient"/> is not known.</param>
internal sealed record StoredBridgeState(string Name, long QueuedMessages, long QueuedBytes, long? OldestStoredAtUnixMs, long? PendingInClient, bool StateFileInUse)
{
    private const string SessionPrefix = "$iotpe/bridge/";
    private const string StateFilePrefix = "bridge-";

    /// <summary>
    /// The bridges of <paramref name="dataFolder"/>: those with a session in <c>broker.db</c> or a state
    /// file <c>bridge-&lt;name&gt;.db</c>, by name.
    /// </summary>
    /// <exception cref="SqliteStoreException">A file cannot be read.</exception>
    public static List<StoredBridgeState> ReadAll(string dataFolder)
    {
        string brokerPath = Path.Combine(dataFolder, "broker.db");
        using SqliteDatabase? broker = File.Exists(brokerPath) ? SqliteDatabase.OpenReadOnly(brokerPath) : null;
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (broker is not null)
        {
            using SqliteStatement sessions = broker.Prepare("SELECT substr(client_id, ?2) FROM sessions WHERE substr(client_id, 1, ?1) = ?3");
            sessions.BindInt64(1, SessionPrefix.Length);
            sessions.BindInt64(2, SessionPrefix.Length + 1);
            sessions.BindText(3, SessionPrefix);
            while (sessions.StepRow())
            {
                names.Add(sessions.ReadText(0)!);
            }
        }
        if (Directory.Exists(dataFolder))
        {
            foreach (string file in Directory.EnumerateFiles(dataFolder, StateFilePrefix + "*.db"))
            {
                names.Add(Path.GetFileNameWithoutExtension(file)[StateFilePrefix.Length..]);
            }
        }
        return [.. names.Select(name => Read(broker, dataFolder, name))];
    }

    private static StoredBridgeState Read(SqliteDatabase? broker, string dataFolder, string name)
    {
        long messages = 0, bytes = 0;
        long? oldest = null;
        if (broker is not null)
        {
            // Rows stored before schema 5 have no time; a file not yet migrated has no such column.
            bool hasStoredAt = broker.QueryInt64("SELECT count(*) FROM pragma_table_info('messages') WHERE name = 'stored_at_unix_ms'") > 0;
            // The stored packet is the PUBLISH without its payload: its topic plus 7 bytes of header
            // when it has no properties; the broker counts topic + payload + 64 per delivery.
            using SqliteStatement queue = broker.Prepare(
                "SELECT count(*), coalesce(sum(length(m.packet) - 7 + coalesce(length(m.payload), 0) + 64), 0), " +
                (hasStoredAt ? "min(m.stored_at_unix_ms)" : "NULL") +
                " FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.client_id = ?1");
            queue.BindText(1, SessionPrefix + name);
            if (queue.StepRow())
            {
                messages = queue.ReadInt64(0);
                bytes = queue.ReadInt64(1);
                oldest = queue.ReadNullableInt64(2);
            }
        }
        long? pending = null;
        bool inUse = false;
        string statePath = Path.Combine(dataFolder, StateFilePrefix + name + ".db");
        if (File.Exists(statePath))
        {
            // The running client writes the file in WAL mode with normal locking (its ownership is a lock file
            // beside it), so a read-only reader sees its last commit and never blocks it.
            using SqliteDatabase state = SqliteDatabase.OpenReadOnly(statePath);
            state.SetBusyTimeout(TimeSpan.FromSeconds(2));
            try
            {
                // A client that has created its file but not yet committed its tables has nothing in flight.
                bool created = state.QueryInt64("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'outgoing'") > 0;
                pending = created ? state.QueryInt64("SELECT count(*) FROM outgoing") : 0;
            }
            catch (SqliteStoreException e) when ((e.ResultCode & 0xFF) == 5)
            {
                // SQLITE_BUSY beyond the timeout: a client of an earlier version holds the file in exclusive
                // locking mode (one owner at a time), so only $SYS knows what it has in flight.
                inUse = true;
            }
        }
        return new StoredBridgeState(name, messages, bytes, oldest, pending, inUse);
    }
}

using IoTPE.Sqlite;

namespace IoTPE.Broker.Storage.Sqlite;

/// <summary>
/// The broker database's tables, versioned with <c>PRAGMA user_version</c>: migration <c>i</c> takes
/// a database from version <c>i</c> to <c>i + 1</c>, so a later release appends a migration and
/// every older file catches up on open, inside one transaction.
/// </summary>
internal static class BrokerSchema
{
    /// <summary>
    /// The migrations in order. Version 1 is the first schema.
    /// Keys come first in WITHOUT ROWID tables so that a client's rows are contiguous (deleting a
    /// session is a range delete) and <c>Load</c> reads deliveries in key order without sorting.
    /// Messages keep the rowid (the broker's id is the rowid) because their packets are the large
    /// values, which a rowid table stores best (https://www.sqlite.org/withoutrowid.html#when_to_use_without_rowid).
    /// No foreign keys: the broker orders writes so references stay consistent, and checking them
    /// would cost every insert and delete on the hot path.
    /// </summary>
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE sessions (
            client_id TEXT NOT NULL PRIMARY KEY,
            protocol_version INTEGER NOT NULL,
            expiry_interval_seconds INTEGER NOT NULL,
            disconnected_at_unix_ms INTEGER,
            user_name TEXT
        ) WITHOUT ROWID;
        CREATE TABLE subscriptions (
            client_id TEXT NOT NULL,
            topic_filter TEXT NOT NULL,
            options INTEGER NOT NULL,
            subscription_identifier INTEGER NOT NULL,
            PRIMARY KEY (client_id, topic_filter)
        ) WITHOUT ROWID;
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            packet BLOB NOT NULL,
            expires_at_unix_ms INTEGER,
            publisher TEXT,
            publisher_user_name TEXT
        );
        CREATE TABLE deliveries (
            client_id TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            qos INTEGER NOT NULL,
            retain INTEGER NOT NULL,
            released INTEGER NOT NULL,
            subscription_identifiers BLOB,
            PRIMARY KEY (client_id, sequence)
        ) WITHOUT ROWID;
        CREATE TABLE incoming_packet_identifiers (
            client_id TEXT NOT NULL,
            packet_identifier INTEGER NOT NULL,
            PRIMARY KEY (client_id, packet_identifier)
        ) WITHOUT ROWID;
        CREATE TABLE retained (
            topic TEXT NOT NULL PRIMARY KEY,
            message_id INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
        // Version 2: client identifiers are scoped per account. A session's client_id becomes its
        // key (the broker's SessionKey): <account>:<client id> for an account's session; an
        // anonymous one keeps its identifier unless that contains ':' (then :<client id>), as do
        // the in-process $iotpe/ sessions; in every table that names a session. Rows of no
        // session go: the broker would have ignored or deleted them at start-up anyway. Tables are
        // rebuilt rather than updated in place, as an in-place update of a primary key can
        // collide with a row not yet renamed.
        """
        CREATE TEMP TABLE session_keys (old TEXT NOT NULL PRIMARY KEY, new TEXT NOT NULL) WITHOUT ROWID;
        INSERT INTO session_keys
            SELECT client_id, CASE
                WHEN user_name IS NOT NULL THEN user_name || ':' || client_id
                WHEN instr(client_id, ':') > 0 THEN ':' || client_id
                ELSE client_id END
            FROM sessions;

        CREATE TABLE sessions_v2 (
            client_id TEXT NOT NULL PRIMARY KEY,
            protocol_version INTEGER NOT NULL,
            expiry_interval_seconds INTEGER NOT NULL,
            disconnected_at_unix_ms INTEGER,
            user_name TEXT
        ) WITHOUT ROWID;
        INSERT INTO sessions_v2 SELECT k.new, s.protocol_version, s.expiry_interval_seconds, s.disconnected_at_unix_ms, s.user_name
            FROM sessions s JOIN session_keys k ON k.old = s.client_id;
        DROP TABLE sessions;
        ALTER TABLE sessions_v2 RENAME TO sessions;

        CREATE TABLE subscriptions_v2 (
            client_id TEXT NOT NULL,
            topic_filter TEXT NOT NULL,
            options INTEGER NOT NULL,
            subscription_identifier INTEGER NOT NULL,
            PRIMARY KEY (client_id, topic_filter)
        ) WITHOUT ROWID;
        INSERT INTO subscriptions_v2 SELECT k.new, s.topic_filter, s.options, s.subscription_identifier
            FROM subscriptions s JOIN session_keys k ON k.old = s.client_id;
        DROP TABLE subscriptions;
        ALTER TABLE subscriptions_v2 RENAME TO subscriptions;

        CREATE TABLE deliveries_v2 (
            client_id TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            qos INTEGER NOT NULL,
            retain INTEGER NOT NULL,
            released INTEGER NOT NULL,
            subscription_identifiers BLOB,
            PRIMARY KEY (client_id, sequence)
        ) WITHOUT ROWID;
        INSERT INTO deliveries_v2 SELECT k.new, d.sequence, d.message_id, d.qos, d.retain, d.released, d.subscription_identifiers
            FROM deliveries d JOIN session_keys k ON k.old = d.client_id;
        DROP TABLE deliveries;
        ALTER TABLE deliveries_v2 RENAME TO deliveries;

        CREATE TABLE incoming_packet_identifiers_v2 (
            client_id TEXT NOT NULL,
            packet_identifier INTEGER NOT NULL,
            PRIMARY KEY (client_id, packet_identifier)
        ) WITHOUT ROWID;
        INSERT INTO incoming_packet_identifiers_v2 SELECT k.new, i.packet_identifier
            FROM incoming_packet_identifiers i JOIN session_keys k ON k.old = i.client_id;
        DROP TABLE incoming_packet_identifiers;
        ALTER TABLE incoming_packet_identifiers_v2 RENAME TO incoming_packet_identifiers;

        DROP TABLE session_keys;
        """,
        // Version 3: a message's payload has a column of its own, after every other one, so that
        // Load reads the packets (topic and properties) without the payloads, which SQLite keeps in
        // overflow pages it does not touch, and length(payload) reads no payload either. Rows stored
        // before keep their payload inside the packet (payload NULL).
        """
        ALTER TABLE messages ADD COLUMN payload BLOB;
        """,
        // Version 4: the highest message id the broker may have handed out (reserved in blocks), so
        // that ids never come back after a restart, even when the messages with the highest ids
        // were deleted before the stop: an in-process client may have recorded one elsewhere (the
        // bridge names each forwarded message by it in its client's state file).
        """
        CREATE TABLE counters (
            name TEXT NOT NULL PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
        // Version 5: when each message was stored, so that the age of a queue's oldest message (the
        // bridge's "oldest queued age") is known after a restart and to `iotpe bridge status`, which
        // reads the file while the broker is stopped. Rows stored before have NULL.
        """
        ALTER TABLE messages ADD COLUMN stored_at_unix_ms INTEGER;
        """,
    ];

    /// <summary>The schema version this release writes.</summary>
    public static int CurrentVersion => Migrations.Length;

    /// <summary>Brings the database to <see cref="CurrentVersion"/>, creating it when empty.</summary>
    /// <exception cref="SqliteStoreException">The file was written by a newer release.</exception>
    public static void Migrate(SqliteDatabase database)
    {
        database.Execute("BEGIN IMMEDIATE");
        try
        {
            long version = database.QueryInt64("PRAGMA user_version") ?? 0;
            if (version > CurrentVersion)
            {
                throw new SqliteStoreException(
                    $"The database {database.Path} has schema version {version}; this release understands up to {CurrentVersion}. " +
                    "It was written by a newer IoTPE: upgrade, or move the file away to start empty.");
            }
            for (long step = version; step < CurrentVersion; step++)
            {
                database.Execute(Migrations[step]);
            }
            if (version != CurrentVersion)
            {
                // user_version lives in the database header, so it commits atomically with the tables.
                database.Execute($"PRAGMA user_version = {CurrentVersion}");
            }
            database.Execute("COMMIT");
        }
        catch
        {
            database.TryExecute("ROLLBACK");
            throw;
        }
    }
}

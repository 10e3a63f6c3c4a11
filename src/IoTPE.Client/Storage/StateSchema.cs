namespace IoTPE.Client.Storage;

/// <summary>
/// The tables of the client's state file. Only unfinished work is kept — a row leaves <c>outgoing</c> once its
/// PUBACK/PUBCOMP arrived and <c>incoming</c> when its handler succeeded and the acknowledgement is due — plus the
/// identities of the most recently delivered publishes (<c>delivered</c>), so that a publish repeated after a crash
/// is recognised.
/// </summary>
internal static class StateSchema
{
    /// <summary>The schema version in <c>client_meta</c>; older versions are upgraded (<see cref="Upgrades"/>), newer ones refused.</summary>
    public const int Version = 2;

    public const string Create = """
        CREATE TABLE IF NOT EXISTS client_meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        -- QoS 1/2 publishes of this client, committed before they are sent, deleted at PUBACK/PUBCOMP.
        CREATE TABLE IF NOT EXISTS outgoing (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- send order
            packet_id  INTEGER UNIQUE,                    -- MQTT packet identifier; NULL until assigned, kept across restarts
            qos        INTEGER NOT NULL,
            released   INTEGER NOT NULL DEFAULT 0,        -- 1 once PUBREC arrived: only PUBREL is (re)sent
            topic      TEXT NOT NULL,
            packet     BLOB NOT NULL,                     -- the PUBLISH in MQTT 5.0 encoding (see StoredPublish)
            created_at INTEGER NOT NULL,                  -- Unix ms
            message_id TEXT                               -- the application's identity for it, if it gave one (version 2)
        );

        -- QoS 2 messages received: committed before PUBREC, deleted once handled (then PUBCOMP goes out).
        CREATE TABLE IF NOT EXISTS incoming (
            id          INTEGER PRIMARY KEY AUTOINCREMENT, -- arrival order
            packet_id   INTEGER UNIQUE,                    -- NULL once the broker's session no longer holds it
            attempts    INTEGER NOT NULL DEFAULT 0,        -- handler attempts started (recorded before each one)
            topic       TEXT NOT NULL,
            packet      BLOB NOT NULL,
            received_at INTEGER NOT NULL
        );

        -- Messages given up on: failed handlers, no handler, publishes the broker refused.
        CREATE TABLE IF NOT EXISTS dead_letter (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            direction TEXT NOT NULL,                       -- 'in' or 'out'
            reason    TEXT NOT NULL,
            attempts  INTEGER NOT NULL,
            error     TEXT NOT NULL,
            topic     TEXT NOT NULL,
            packet    BLOB NOT NULL,
            at        INTEGER NOT NULL
        );

        -- Identities of publishes whose flow ended (acknowledged, or refused by the broker), the most recent
        -- MqttClientOptions.MessageIdRetention of them (version 2).
        CREATE TABLE IF NOT EXISTS delivered (
            id         INTEGER PRIMARY KEY,                -- order of delivery; the oldest are pruned
            message_id TEXT NOT NULL UNIQUE,
            refused    INTEGER,                            -- the broker's reason code when it refused the publish
            at         INTEGER NOT NULL
        );
        """;

    /// <summary>Run after <see cref="Create"/> and the upgrades: what needs the version 2 columns.</summary>
    public const string Indexes = """
        CREATE UNIQUE INDEX IF NOT EXISTS outgoing_message_id ON outgoing (message_id) WHERE message_id IS NOT NULL;
        """;

    /// <summary>The statements that take a file of version <c>index + 1</c> to the next version.</summary>
    public static readonly string[] Upgrades =
    [
        // 1 -> 2: application message identities.
        "ALTER TABLE outgoing ADD COLUMN message_id TEXT",
    ];
}

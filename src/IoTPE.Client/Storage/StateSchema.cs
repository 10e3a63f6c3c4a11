namespace IoTPE.Client.Storage;

/// <summary>
/// The tables of the client's state file. Only unfinished work is kept: a row leaves <c>outgoing</c> when its
/// PUBACK/PUBCOMP arrived and <c>incoming</c> when its handler succeeded and the acknowledgement is due.
/// </summary>
internal static class StateSchema
{
    /// <summary>The schema version in <c>client_meta</c>; a file with another one is refused.</summary>
    public const int Version = 1;

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
            created_at INTEGER NOT NULL                   -- Unix ms
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
        """;
}

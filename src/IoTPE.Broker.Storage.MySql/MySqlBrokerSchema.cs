using System.Globalization;
using MySqlConnector;

namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// The broker's tables in the store's database, versioned in <c>broker_schema_version</c>: migration
/// <c>i</c> takes the database from version <c>i</c> to <c>i + 1</c>, so a later release appends a
/// migration and an older database catches up when the store opens.
/// </summary>
/// <remarks>
/// <para>
/// The first version is the SQLite store's schema 5 (sessions keyed by account, payload apart,
/// message id reservation, stored-at time) in InnoDB. Keys are <c>VARBINARY</c> holding UTF-8: byte
/// order and byte equality as in the broker (a <c>VARCHAR</c> with a PAD SPACE collation would take
/// <c>"a"</c> and <c>"a "</c> for one client). InnoDB keys are at most 3072 bytes, which bounds the
/// key columns: a session key (account, ':' and client identifier) up to 1024 bytes, a topic filter
/// up to 2048 and a retained topic up to 3072; a longer one fails its write, and the broker refuses
/// what depended on it, as for any refused write.
/// </para>
/// <para>
/// MySQL commits DDL implicitly, so a migration is not atomic as it is on SQLite: every statement is
/// idempotent (<c>IF NOT EXISTS</c>) and the version is written after its statements, so a migration
/// interrupted half-way is simply run again. A named lock keeps two stores from migrating at once.
/// </para>
/// </remarks>
internal static class MySqlBrokerSchema
{
    /// <summary>The migrations in order; each is a list of statements.</summary>
    public static readonly string[][] Migrations =
    [
        [
            """
            CREATE TABLE IF NOT EXISTS sessions (
                client_id VARBINARY(1024) NOT NULL PRIMARY KEY,
                protocol_version TINYINT UNSIGNED NOT NULL,
                expiry_interval_seconds INT UNSIGNED NOT NULL,
                disconnected_at_unix_ms BIGINT NULL,
                user_name BLOB NULL
            ) ENGINE = InnoDB
            """,
            """
            CREATE TABLE IF NOT EXISTS subscriptions (
                client_id VARBINARY(1024) NOT NULL,
                topic_filter VARBINARY(2048) NOT NULL,
                options TINYINT UNSIGNED NOT NULL,
                subscription_identifier INT UNSIGNED NOT NULL,
                PRIMARY KEY (client_id, topic_filter)
            ) ENGINE = InnoDB
            """,
            // packet holds the PUBLISH without its payload (topic and properties); the payload has
            // its own column so that Load reads LENGTH(payload) and leaves the payload on disk.
            """
            CREATE TABLE IF NOT EXISTS messages (
                id BIGINT NOT NULL PRIMARY KEY,
                packet MEDIUMBLOB NOT NULL,
                expires_at_unix_ms BIGINT NULL,
                publisher BLOB NULL,
                publisher_user_name BLOB NULL,
                payload LONGBLOB NULL,
                stored_at_unix_ms BIGINT NULL
            ) ENGINE = InnoDB
            """,
            // No index on message_id: every delivery insert and delete would pay for it; the orphan
            // sweep at Load uses a materialized NOT IN instead, as on SQLite.
            """
            CREATE TABLE IF NOT EXISTS deliveries (
                client_id VARBINARY(1024) NOT NULL,
                sequence BIGINT NOT NULL,
                message_id BIGINT NOT NULL,
                qos TINYINT UNSIGNED NOT NULL,
                retain_flag TINYINT UNSIGNED NOT NULL,
                released TINYINT UNSIGNED NOT NULL,
                subscription_identifiers BLOB NULL,
                PRIMARY KEY (client_id, sequence)
            ) ENGINE = InnoDB
            """,
            """
            CREATE TABLE IF NOT EXISTS incoming_packet_identifiers (
                client_id VARBINARY(1024) NOT NULL,
                packet_identifier SMALLINT UNSIGNED NOT NULL,
                PRIMARY KEY (client_id, packet_identifier)
            ) ENGINE = InnoDB
            """,
            """
            CREATE TABLE IF NOT EXISTS retained (
                topic VARBINARY(3072) NOT NULL PRIMARY KEY,
                message_id BIGINT NOT NULL
            ) ENGINE = InnoDB
            """,
            // message_ids_reserved: see IBrokerStore.ReserveMessageIds. writer_batch: the number of
            // the writer's latest committed transaction, written in each one, so that after a COMMIT
            // whose answer was lost the writer can tell whether it committed (MySqlGroupCommitWriter).
            """
            CREATE TABLE IF NOT EXISTS counters (
                name VARCHAR(64) CHARACTER SET ascii NOT NULL PRIMARY KEY,
                value BIGINT NOT NULL
            ) ENGINE = InnoDB
            """,
            "INSERT IGNORE INTO counters (name, value) VALUES ('writer_batch', 0)",
        ],
    ];

    /// <summary>The schema version this release writes.</summary>
    public static int CurrentVersion => Migrations.Length;

    /// <summary>Brings the connection's database to <see cref="CurrentVersion"/>, creating the tables when missing.</summary>
    /// <exception cref="MySqlBrokerStoreException">No database is selected, or it was written by a newer release.</exception>
    public static void Migrate(MySqlConnection connection)
    {
        string database = connection.Database;
        if (string.IsNullOrEmpty(database))
        {
            throw new MySqlBrokerStoreException("The MySQL broker store needs a database: set Database= in the connection string.");
        }
        Execute(connection, "CREATE TABLE IF NOT EXISTS broker_schema_version (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, version INT NOT NULL) ENGINE = InnoDB");
        using (var lockCommand = new MySqlCommand("SELECT GET_LOCK(CONCAT('iotpe.broker_schema.', DATABASE()), 60)", connection))
        {
            if (Convert.ToInt64(lockCommand.ExecuteScalar(), CultureInfo.InvariantCulture) != 1)
            {
                throw new MySqlBrokerStoreException($"Another broker store has been migrating the database {database} for 60 s.");
            }
        }
        try
        {
            using var read = new MySqlCommand("SELECT version FROM broker_schema_version WHERE id = 1", connection);
            long version = read.ExecuteScalar() is { } value and not DBNull ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : 0;
            if (version > CurrentVersion)
            {
                throw new MySqlBrokerStoreException(
                    $"The database {database} has broker schema version {version}; this release understands up to {CurrentVersion}. " +
                    "It was written by a newer IoTPE: upgrade it, or point the store at another database.");
            }
            for (long step = version; step < CurrentVersion; step++)
            {
                foreach (string statement in Migrations[step])
                {
                    Execute(connection, statement);
                }
                Execute(connection, string.Create(CultureInfo.InvariantCulture,
                    $"INSERT INTO broker_schema_version (id, version) VALUES (1, {step + 1}) ON DUPLICATE KEY UPDATE version = VALUES(version)"));
            }
        }
        finally
        {
            Execute(connection, "DO RELEASE_LOCK(CONCAT('iotpe.broker_schema.', DATABASE()))");
        }
    }

    private static void Execute(MySqlConnection connection, string sql)
    {
        using var command = new MySqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}

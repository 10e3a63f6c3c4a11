using MySqlConnector;

namespace IoTPE.Engine.Storage.MySql;

/// <summary>
/// The tables and stored procedures of the service database. Names are compared byte for byte
/// (<c>utf8mb4_bin</c>), as MySQL compares user and database names on Linux.
/// </summary>
/// <remarks>
/// Accounts reach their scripts with their own credentials only through the <c>script_*</c>
/// procedures: they run with the service user's rights (SQL SECURITY DEFINER) and take the account
/// from <c>SESSION_USER()</c>, the user the server authenticated, so an account can read and change
/// its own scripts and nothing else; the tables themselves are granted to nobody. <c>EXECUTE</c> on
/// the procedures is granted to <c>PUBLIC</c> (MariaDB 10.11), so an account created the traditional
/// way (CREATE USER + CREATE DATABASE by an administrator) can use them without a grant of its own.
/// </remarks>
internal static class ServiceSchema
{
    /// <summary>The procedures every account may call.</summary>
    public static readonly string[] AccountProcedures = ["script_load", "script_list", "script_show", "script_remove", "script_schedule"];

    // Whether the session's user is an account: a database of its name exists, and it is not the
    // service database or a system schema. Used inside the procedures (definer's view of the server).
    private const string AccountOfSession = """
        SET v_account = SUBSTRING_INDEX(SESSION_USER(), '@', 1);
        IF v_account = DATABASE() OR v_account IN ('mysql', 'information_schema', 'performance_schema', 'sys')
           OR NOT EXISTS (SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = v_account) THEN
            SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'this user is not an iotpe account (it has no database of the same name)';
        END IF;
        """;

    private static readonly string[] Tables =
    [
        "CREATE TABLE IF NOT EXISTS change_versions(area VARCHAR(32) COLLATE utf8mb4_bin PRIMARY KEY, version BIGINT NOT NULL) ENGINE=InnoDB",
        "CREATE TABLE IF NOT EXISTS settings(name VARCHAR(64) COLLATE utf8mb4_bin PRIMARY KEY, value BIGINT NOT NULL) ENGINE=InnoDB",
        """
        CREATE TABLE IF NOT EXISTS grants(id BIGINT AUTO_INCREMENT PRIMARY KEY,
            owner VARCHAR(80) COLLATE utf8mb4_bin NOT NULL, grantee VARCHAR(80) COLLATE utf8mb4_bin NOT NULL,
            kind TINYINT NOT NULL, filter TEXT COLLATE utf8mb4_bin NOT NULL, filter_hash BINARY(32) NOT NULL,
            UNIQUE KEY grant_key(owner, grantee, kind, filter_hash), KEY grantee_key(grantee)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        """,
        "CREATE TABLE IF NOT EXISTS account_removals(name VARCHAR(80) COLLATE utf8mb4_bin PRIMARY KEY, removed_at BIGINT NOT NULL) ENGINE=InnoDB",
        """
        CREATE TABLE IF NOT EXISTS scripts(account VARCHAR(80) COLLATE utf8mb4_bin NOT NULL, name VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
            version INT NOT NULL, text LONGTEXT NOT NULL, created_at BIGINT NOT NULL,
            PRIMARY KEY(account, name, version)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        """,
        """
        CREATE TABLE IF NOT EXISTS script_schedules(account VARCHAR(80) COLLATE utf8mb4_bin NOT NULL, name VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
            every_seconds INT NOT NULL, PRIMARY KEY(account, name)) ENGINE=InnoDB
        """,
        """
        CREATE TABLE IF NOT EXISTS kv(id BIGINT AUTO_INCREMENT PRIMARY KEY, account VARCHAR(80) COLLATE utf8mb4_bin NOT NULL,
            k TEXT COLLATE utf8mb4_bin NOT NULL, k_hash BINARY(32) NOT NULL, value LONGTEXT NOT NULL,
            UNIQUE KEY kv_key(account, k_hash)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        """,
        // The row script_save_for serializes on (see there).
        "CREATE TABLE IF NOT EXISTS script_save_lock(id TINYINT PRIMARY KEY) ENGINE=InnoDB",
        "INSERT IGNORE INTO script_save_lock(id) VALUES (1)",
        "CREATE TABLE IF NOT EXISTS kv_usage(account VARCHAR(80) COLLATE utf8mb4_bin PRIMARY KEY, `keys` BIGINT NOT NULL, bytes BIGINT NOT NULL) ENGINE=InnoDB",
        "CREATE TABLE IF NOT EXISTS run_attempts(request_id BIGINT PRIMARY KEY, started INT NOT NULL) ENGINE=InnoDB",
        """
        CREATE TABLE IF NOT EXISTS quarantined_runs(id BIGINT AUTO_INCREMENT PRIMARY KEY, account VARCHAR(80) COLLATE utf8mb4_bin NOT NULL,
            topic TEXT NOT NULL, at BIGINT NOT NULL, KEY account_key(account)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
        """,
        """
        CREATE TABLE IF NOT EXISTS script_users(account VARCHAR(80) COLLATE utf8mb4_bin PRIMARY KEY,
            user_name VARCHAR(80) COLLATE utf8mb4_bin NOT NULL, password VARCHAR(64) NOT NULL) ENGINE=InnoDB
        """,
    ];

    private static readonly string[] Procedures =
    [
        // The one place a script version is stored: the engine's store and script_load both call it.
        """
        CREATE OR REPLACE PROCEDURE script_save_for(IN p_account VARCHAR(80), IN p_name VARCHAR(64), IN p_text LONGTEXT, IN p_kept INT, IN p_max BIGINT)
        SQL SECURITY DEFINER MODIFIES SQL DATA
        BEGIN
            DECLARE v_version INT;
            DECLARE v_bytes BIGINT;
            DECLARE v_turn TINYINT;
            DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
            START TRANSACTION;
            -- Saves take turns (they are rare): a locking read of versions that do not exist yet takes
            -- only gap locks, which concurrent first saves all got, and their inserts then deadlocked.
            SELECT id INTO v_turn FROM script_save_lock WHERE id = 1 FOR UPDATE;
            SELECT COALESCE(MAX(version), 0) + 1 INTO v_version FROM scripts WHERE account = p_account AND name = p_name FOR UPDATE;
            INSERT INTO scripts(account, name, version, text, created_at)
                VALUES (p_account, p_name, v_version, p_text, CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED));
            DELETE FROM scripts WHERE account = p_account AND name = p_name AND version <= v_version - p_kept;
            SELECT COALESCE(SUM(OCTET_LENGTH(text)), 0) INTO v_bytes FROM scripts WHERE account = p_account;
            IF v_bytes > p_max THEN
                ROLLBACK;
                SELECT NULL AS version, v_bytes AS bytes_needed, p_max AS max_bytes, NULL AS created_at;
            ELSE
                INSERT INTO change_versions(area, version) VALUES ('scripts', 1) ON DUPLICATE KEY UPDATE version = version + 1;
                COMMIT;
                SELECT v_version AS version, v_bytes AS bytes_needed, p_max AS max_bytes,
                    (SELECT created_at FROM scripts WHERE account = p_account AND name = p_name AND version = v_version) AS created_at;
            END IF;
        END
        """,
        $"""
        CREATE OR REPLACE PROCEDURE script_load(IN p_name VARCHAR(64), IN p_text LONGTEXT)
        SQL SECURITY DEFINER MODIFIES SQL DATA
        BEGIN
            DECLARE v_account VARCHAR(80);
            {AccountOfSession}
            IF p_name IS NULL OR p_name NOT REGEXP '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' OR CHAR_LENGTH(p_name) > 64 OR p_name LIKE '%..%' THEN
                SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'invalid script name: ASCII letters, digits, _ - . (not first, no ..), at most 64 characters';
            END IF;
            CALL script_save_for(v_account, p_name, p_text,
                COALESCE((SELECT value FROM settings WHERE name = 'script_versions_kept'), 5),
                COALESCE((SELECT value FROM settings WHERE name = 'script_max_bytes'), 8388608));
        END
        """,
        $"""
        CREATE OR REPLACE PROCEDURE script_list()
        SQL SECURITY DEFINER READS SQL DATA
        BEGIN
            DECLARE v_account VARCHAR(80);
            {AccountOfSession}
            SELECT s.name, s.version, s.created_at, h.every_seconds FROM scripts s
                LEFT JOIN script_schedules h ON h.account = s.account AND h.name = s.name
                WHERE s.account = v_account AND s.version = (SELECT MAX(version) FROM scripts WHERE account = s.account AND name = s.name)
                ORDER BY s.name;
            SELECT topic, at FROM quarantined_runs WHERE account = v_account ORDER BY id;
        END
        """,
        $"""
        CREATE OR REPLACE PROCEDURE script_show(IN p_name VARCHAR(64), IN p_version INT)
        SQL SECURITY DEFINER READS SQL DATA
        BEGIN
            DECLARE v_account VARCHAR(80);
            {AccountOfSession}
            SELECT name, version, text, created_at FROM scripts WHERE account = v_account AND name = p_name
                AND (p_version IS NULL OR version = p_version) ORDER BY version DESC LIMIT 1;
        END
        """,
        $"""
        CREATE OR REPLACE PROCEDURE script_remove(IN p_name VARCHAR(64))
        SQL SECURITY DEFINER MODIFIES SQL DATA
        BEGIN
            DECLARE v_account VARCHAR(80);
            DECLARE v_removed INT;
            {AccountOfSession}
            START TRANSACTION;
            DELETE FROM scripts WHERE account = v_account AND name = p_name;
            SET v_removed = ROW_COUNT();
            DELETE FROM script_schedules WHERE account = v_account AND name = p_name;
            INSERT INTO change_versions(area, version) VALUES ('scripts', 1) ON DUPLICATE KEY UPDATE version = version + 1;
            COMMIT;
            SELECT v_removed AS removed;
        END
        """,
        $"""
        CREATE OR REPLACE PROCEDURE script_schedule(IN p_name VARCHAR(64), IN p_every INT)
        SQL SECURITY DEFINER MODIFIES SQL DATA
        BEGIN
            DECLARE v_account VARCHAR(80);
            {AccountOfSession}
            IF NOT EXISTS (SELECT 1 FROM scripts WHERE account = v_account AND name = p_name) THEN
                SELECT 0 AS found;
            ELSE
                IF p_every IS NULL THEN
                    DELETE FROM script_schedules WHERE account = v_account AND name = p_name;
                ELSEIF p_every < 1 OR p_every > 86400 THEN
                    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'a schedule runs every 1 to 86400 seconds';
                ELSE
                    INSERT INTO script_schedules(account, name, every_seconds) VALUES (v_account, p_name, p_every)
                        ON DUPLICATE KEY UPDATE every_seconds = p_every;
                END IF;
                INSERT INTO change_versions(area, version) VALUES ('scripts', 1) ON DUPLICATE KEY UPDATE version = version + 1;
                SELECT 1 AS found;
            END IF;
        END
        """,
    ];

    /// <summary>Creates the service database, its tables and procedures, and grants the account procedures to every user.</summary>
    public static void Create(MySqlServiceDatabase database)
    {
        using (var server = new MySqlConnection(database.ServerConnectionString))
        {
            server.Open();
            using var create = new MySqlCommand($"CREATE DATABASE IF NOT EXISTS {SqlName.Identifier(database.Name)} CHARACTER SET utf8mb4", server);
            create.ExecuteNonQuery();
        }
        using MySqlConnection connection = database.Open();
        foreach (string sql in Tables.Concat(Procedures))
        {
            using var command = new MySqlCommand(sql, connection);
            command.ExecuteNonQuery();
        }
        foreach (string procedure in AccountProcedures)
        {
            using var grant = new MySqlCommand($"GRANT EXECUTE ON PROCEDURE {SqlName.Identifier(database.Name)}.{SqlName.Identifier(procedure)} TO PUBLIC", connection);
            grant.ExecuteNonQuery();
        }
    }
}

using IoTPE.Sqlite;
using Microsoft.Data.Sqlite;

namespace IoTPE.Engine.Storage.Sqlite;

/// <summary>
/// <c>engine.db</c> in the data folder (WAL, synchronous FULL): accounts, grants, scripts, the
/// accounts' key-value entries with what they take per account, and the removals of accounts still under way, shared by the running engine and the <c>iotpe account</c> and
/// <c>iotpe script</c> commands, which may run at the same time in another process. The store
/// classes built on it (<see cref="SqliteAccountStore"/>, <see cref="SqliteScriptStore"/>,
/// <see cref="SqliteKeyValueStore"/>) share its one connection under one lock.
/// </summary>
public sealed class SqliteEngineDatabase : IDisposable
{
    private const int SchemaVersion = 2;

    private readonly SqliteConnection _connection;
    private readonly SqliteConnection _versionProbe;
    private readonly SqliteCommand _versionQuery; // kept prepared: the engine asks once a second per area

    /// <summary>Opens (and creates if needed) <c>engine.db</c> in <paramref name="dataFolder"/>.</summary>
    /// <exception cref="SqliteStoreException">The file is from a newer release.</exception>
    public SqliteEngineDatabase(string dataFolder)
    {
        SqliteRuntime.Initialize();
        Directory.CreateDirectory(dataFolder);
        string connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataFolder, "engine.db"),
            Pooling = false,
            DefaultTimeout = 10,
        }.ToString();
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;");
        Migrate();
        // A second connection reads the change counters, so that a read never waits for this
        // connection's transactions.
        _versionProbe = new SqliteConnection(connectionString);
        _versionProbe.Open();
        using SqliteCommand busy = _versionProbe.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout=10000;";
        busy.ExecuteNonQuery();
        _versionQuery = _versionProbe.CreateCommand();
        _versionQuery.CommandText = "SELECT version FROM change_counters WHERE area = $area";
        _versionQuery.Parameters.Add("$area", SqliteType.Text);
    }

    internal Lock Gate { get; } = new();

    /// <summary>
    /// The change counter of one area (<c>accounts</c>, <c>scripts</c>): it moves with every change
    /// to that area, made by this process or another one.
    /// </summary>
    internal long ChangeVersion(string area)
    {
        lock (Gate)
        {
            _versionQuery.Parameters[0].Value = area;
            return _versionQuery.ExecuteScalar() is long version ? version : 0;
        }
    }

    /// <summary>Moves an area's change counter, inside the caller's transaction (callers hold <see cref="Gate"/>).</summary>
    internal void Touch(string area, SqliteTransaction? transaction = null)
    {
        using SqliteCommand command = Command(
            "INSERT INTO change_counters(area, version) VALUES ($area, 1) ON CONFLICT(area) DO UPDATE SET version = version + 1", transaction);
        command.Parameters.AddWithValue("$area", area);
        command.ExecuteNonQuery();
    }

    internal SqliteConnection Connection => _connection;

    /// <summary>A command on the shared connection; callers hold <see cref="Gate"/>.</summary>
    internal SqliteCommand Command(string sql, SqliteTransaction? transaction = null)
    {
        SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _versionQuery.Dispose();
        _versionProbe.Dispose();
        _connection.Dispose();
    }

    private void Migrate()
    {
        using SqliteCommand version = Command("PRAGMA user_version");
        long current = (long)version.ExecuteScalar()!;
        if (current > SchemaVersion)
        {
            throw new SqliteStoreException($"engine.db has schema version {current}; this release knows {SchemaVersion}. Use a newer iotpe.", 0);
        }
        if (current < 1)
        {
            Execute("""
                BEGIN;
                CREATE TABLE IF NOT EXISTS accounts(
                    name TEXT PRIMARY KEY NOT NULL,
                    password_hash TEXT NOT NULL,
                    created_at INTEGER NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS grants(
                    owner TEXT NOT NULL,
                    grantee TEXT NOT NULL,
                    kind INTEGER NOT NULL,
                    filter TEXT NOT NULL,
                    PRIMARY KEY(owner, grantee, kind, filter)) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS grants_by_grantee ON grants(grantee);
                CREATE TABLE IF NOT EXISTS scripts(
                    account TEXT NOT NULL,
                    name TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    text TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY(account, name, version)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS script_schedules(
                    account TEXT NOT NULL,
                    name TEXT NOT NULL,
                    every_seconds INTEGER NOT NULL,
                    PRIMARY KEY(account, name)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS kv(
                    account TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY(account, key)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS change_counters(
                    area TEXT PRIMARY KEY NOT NULL,
                    version INTEGER NOT NULL) WITHOUT ROWID;
                PRAGMA user_version = 1;
                COMMIT;
                """);
        }
        if (current < 2)
        {
            // kv_usage keeps the keys and bytes (UTF-8 key + value) of each account's kv entries, so
            // that the quota check of kv.set reads one row instead of summing the account's entries.
            // account_removals lists accounts removed whose data is not all gone yet (see SqliteAccountStore).
            Execute("""
                BEGIN;
                CREATE TABLE IF NOT EXISTS kv_usage(
                    account TEXT PRIMARY KEY NOT NULL,
                    keys INTEGER NOT NULL,
                    bytes INTEGER NOT NULL) WITHOUT ROWID;
                INSERT OR REPLACE INTO kv_usage(account, keys, bytes)
                    SELECT account, COUNT(*), SUM(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))) FROM kv GROUP BY account;
                CREATE TABLE IF NOT EXISTS account_removals(
                    name TEXT PRIMARY KEY NOT NULL,
                    removed_at INTEGER NOT NULL) WITHOUT ROWID;
                PRAGMA user_version = 2;
                COMMIT;
                """);
        }
    }

    private void Execute(string sql)
    {
        using SqliteCommand command = Command(sql);
        command.ExecuteNonQuery();
    }
}

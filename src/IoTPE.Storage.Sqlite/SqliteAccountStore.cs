using IoTPE.Engine.Accounts;
using Microsoft.Data.Sqlite;

namespace IoTPE.Storage.Sqlite;

/// <summary>
/// Accounts and grants in <c>accounts.db</c> in the data folder (WAL, synchronous FULL): shared by
/// the running engine and the <c>iotpe account</c> / <c>iotpe grant</c> commands, which may run
/// at the same time in another process. Thread-safe.
/// </summary>
public sealed class SqliteAccountStore : IAccountStore, IDisposable
{
    private const int SchemaVersion = 1;

    private readonly Lock _gate = new();
    private readonly SqliteConnection _connection;
    private readonly SqliteConnection _versionProbe;

    /// <summary>Opens (and creates if needed) <c>accounts.db</c> in <paramref name="dataFolder"/>.</summary>
    /// <exception cref="SqliteStoreException">The file is not an account database of this or an older release.</exception>
    public SqliteAccountStore(string dataFolder)
    {
        SqliteRuntime.Initialize();
        Directory.CreateDirectory(dataFolder);
        string path = Path.Combine(dataFolder, "accounts.db");
        string connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 10 }.ToString();
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;");
        Migrate();
        // PRAGMA data_version changes for a connection when *another* connection commits, so a
        // second connection sees both this store's writes and those of other processes.
        _versionProbe = new SqliteConnection(connectionString);
        _versionProbe.Open();
        using SqliteCommand busy = _versionProbe.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout=10000;";
        busy.ExecuteNonQuery();
    }

    /// <inheritdoc/>
    public long ChangeVersion
    {
        get
        {
            lock (_gate)
            {
                using SqliteCommand command = _versionProbe.CreateCommand();
                command.CommandText = "PRAGMA data_version";
                return (long)command.ExecuteScalar()!;
            }
        }
    }

    /// <inheritdoc/>
    public (IReadOnlyList<Account> Accounts, IReadOnlyList<Grant> Grants) LoadAll()
    {
        lock (_gate)
        {
            var accounts = new List<Account>();
            var grants = new List<Grant>();
            using SqliteTransaction transaction = _connection.BeginTransaction(deferred: true);
            using (SqliteCommand command = Command("SELECT name, password_hash, created_at FROM accounts ORDER BY name", transaction))
            using (SqliteDataReader reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    accounts.Add(new Account(reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
                }
            }
            using (SqliteCommand command = Command("SELECT owner, grantee, kind, filter FROM grants ORDER BY owner, grantee, kind, filter", transaction))
            using (SqliteDataReader reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    grants.Add(new Grant(reader.GetString(0), reader.GetString(1), (GrantKind)reader.GetInt32(2), reader.GetString(3)));
                }
            }
            transaction.Commit();
            return (accounts, grants);
        }
    }

    /// <inheritdoc/>
    public bool AddAccount(Account account)
    {
        ArgumentNullException.ThrowIfNull(account);
        lock (_gate)
        {
            using SqliteCommand command = Command("INSERT OR IGNORE INTO accounts(name, password_hash, created_at) VALUES ($name, $hash, $created)");
            command.Parameters.AddWithValue("$name", account.Name);
            command.Parameters.AddWithValue("$hash", account.PasswordHash);
            command.Parameters.AddWithValue("$created", account.CreatedAt.ToUnixTimeMilliseconds());
            return command.ExecuteNonQuery() == 1;
        }
    }

    /// <inheritdoc/>
    public bool SetPasswordHash(string name, string passwordHash)
    {
        lock (_gate)
        {
            using SqliteCommand command = Command("UPDATE accounts SET password_hash = $hash WHERE name = $name");
            command.Parameters.AddWithValue("$name", name);
            command.Parameters.AddWithValue("$hash", passwordHash);
            return command.ExecuteNonQuery() == 1;
        }
    }

    /// <inheritdoc/>
    public bool RemoveAccount(string name)
    {
        lock (_gate)
        {
            using SqliteTransaction transaction = _connection.BeginTransaction();
            using SqliteCommand grants = Command("DELETE FROM grants WHERE owner = $name OR grantee = $name", transaction);
            grants.Parameters.AddWithValue("$name", name);
            grants.ExecuteNonQuery();
            using SqliteCommand account = Command("DELETE FROM accounts WHERE name = $name", transaction);
            account.Parameters.AddWithValue("$name", name);
            bool removed = account.ExecuteNonQuery() == 1;
            transaction.Commit();
            return removed;
        }
    }

    /// <inheritdoc/>
    public void AddGrant(Grant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        lock (_gate)
        {
            using SqliteCommand command = Command("INSERT OR IGNORE INTO grants(owner, grantee, kind, filter) VALUES ($owner, $grantee, $kind, $filter)");
            Bind(command, grant);
            command.ExecuteNonQuery();
        }
    }

    /// <inheritdoc/>
    public bool RemoveGrant(Grant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        lock (_gate)
        {
            using SqliteCommand command = Command("DELETE FROM grants WHERE owner = $owner AND grantee = $grantee AND kind = $kind AND filter = $filter");
            Bind(command, grant);
            return command.ExecuteNonQuery() == 1;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _versionProbe.Dispose();
        _connection.Dispose();
    }

    private static void Bind(SqliteCommand command, Grant grant)
    {
        command.Parameters.AddWithValue("$owner", grant.Owner);
        command.Parameters.AddWithValue("$grantee", grant.Grantee);
        command.Parameters.AddWithValue("$kind", (int)grant.Kind);
        command.Parameters.AddWithValue("$filter", grant.Filter);
    }

    private void Migrate()
    {
        using SqliteCommand version = Command("PRAGMA user_version");
        long current = (long)version.ExecuteScalar()!;
        if (current > SchemaVersion)
        {
            throw new SqliteStoreException($"accounts.db has schema version {current}; this release knows {SchemaVersion}. Use a newer iotpe.", 0);
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
                PRAGMA user_version = 1;
                COMMIT;
                """);
        }
    }

    private void Execute(string sql)
    {
        using SqliteCommand command = Command(sql);
        command.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, SqliteTransaction? transaction = null)
    {
        SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }
}

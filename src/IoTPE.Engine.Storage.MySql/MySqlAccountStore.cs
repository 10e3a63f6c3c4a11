using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using IoTPE.Engine.Accounts;
using MySqlConnector;

namespace IoTPE.Engine.Storage.MySql;

/// <summary>
/// Accounts on the central engine are the server's users: a user NAME with a database NAME of the
/// same name is the account NAME (the seed: "a PE account correlates to one MySQL user"), whether
/// <c>iotpe account add</c> made it or an administrator did (CREATE USER + CREATE DATABASE). The
/// password is the user's and is checked by the server (<see cref="MySqlLoginCheck"/>); grants, pending
/// removals and everything else iotpe keeps live in the service database. Thread-safe.
/// </summary>
/// <remarks>
/// <see cref="ChangeVersion"/> combines the service database's counter with a checksum of the server's
/// users (with their authentication strings) and schemata, so a user created, dropped or given a new
/// password outside iotpe is noticed at the engine's next poll (every second). The service user needs
/// to read <c>mysql.user</c> and see every schema, which its privileges (README) give it.
/// </remarks>
public sealed class MySqlAccountStore : IAccountStore
{
    private const string Area = "accounts";
    private const string ScriptsArea = "scripts";
    private static readonly string[] SystemNames = ["mysql", "information_schema", "performance_schema", "sys", "root", "mariadb.sys", "PUBLIC"];

    private readonly MySqlServiceDatabase _database;
    private long _lastVersion;
    private int _unreachable;

    /// <summary>Creates the store on the service database.</summary>
    public MySqlAccountStore(MySqlServiceDatabase database)
    {
        _database = database;
    }

    /// <summary>
    /// Told once when reading the change counter starts failing (with the error) and once when it
    /// works again (null): the server is unreachable meanwhile, and the accounts in memory stay.
    /// </summary>
    public Action<Exception?>? ReachabilityChanged { get; init; }

    /// <inheritdoc/>
    public long ChangeVersion
    {
        get
        {
            try
            {
                using MySqlConnection connection = _database.Open();
                using MySqlCommand command = MySqlServiceDatabase.Command(connection, """
                    SELECT COALESCE((SELECT version FROM change_versions WHERE area = 'accounts'), 0),
                           (SELECT COUNT(*) FROM mysql.user),
                           (SELECT COALESCE(BIT_XOR(CRC32(CONCAT(User, '@', Host, ':', authentication_string))), 0) FROM mysql.user),
                           (SELECT COUNT(*) FROM information_schema.SCHEMATA),
                           (SELECT COALESCE(BIT_XOR(CRC32(SCHEMA_NAME)), 0) FROM information_schema.SCHEMATA)
                    """);
                using MySqlDataReader reader = command.ExecuteReader();
                reader.Read();
                long version = HashCode.Combine(reader.GetInt64(0), reader.GetInt64(1), Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture),
                    reader.GetInt64(3), Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture));
                Volatile.Write(ref _lastVersion, version);
                if (Interlocked.Exchange(ref _unreachable, 0) == 1)
                {
                    ReachabilityChanged?.Invoke(null);
                }
                return version;
            }
            catch (MySqlException e)
            {
                if (Interlocked.Exchange(ref _unreachable, 1) == 0)
                {
                    ReachabilityChanged?.Invoke(e);
                }
                return Volatile.Read(ref _lastVersion);
            }
        }
    }

    /// <inheritdoc/>
    public (IReadOnlyList<Account> Accounts, IReadOnlyList<Grant> Grants) LoadAll()
    {
        using MySqlConnection connection = _database.Open();
        var accounts = LoadAccounts(connection);
        var grants = new List<Grant>();
        using (MySqlCommand command = MySqlServiceDatabase.Command(connection, "SELECT owner, grantee, kind, filter FROM grants ORDER BY owner, grantee, kind, filter"))
        using (MySqlDataReader reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                grants.Add(new Grant(reader.GetString(0), reader.GetString(1), (GrantKind)reader.GetInt32(2), reader.GetString(3)));
            }
        }
        return (accounts, grants);
    }

    /// <summary>Whether <paramref name="name"/> is an account now (its user and its database exist).</summary>
    public bool Exists(string name)
    {
        using MySqlConnection connection = _database.Open();
        return LoadAccounts(connection).Any(a => a.Name == name);
    }

    private List<Account> LoadAccounts(MySqlConnection connection)
    {
        var schemata = new HashSet<string>(StringComparer.Ordinal);
        using (MySqlCommand command = MySqlServiceDatabase.Command(connection, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"))
        using (MySqlDataReader reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                schemata.Add(reader.GetString(0));
            }
        }
        // Every host entry of a user counts: the account's "password hash" is a digest of all of
        // them, so a new password anywhere ends what the authenticator remembers as verified.
        var users = new SortedDictionary<string, StringBuilder>(StringComparer.Ordinal);
        using (MySqlCommand command = MySqlServiceDatabase.Command(connection, "SELECT User, Host, authentication_string FROM mysql.user ORDER BY User, Host"))
        using (MySqlDataReader reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                string user = reader.GetString(0);
                if (!IsAccountName(user) || !schemata.Contains(user))
                {
                    continue;
                }
                if (!users.TryGetValue(user, out StringBuilder? authentication))
                {
                    users.Add(user, authentication = new StringBuilder());
                }
                authentication.Append(reader.GetString(1)).Append(':').Append(reader.IsDBNull(2) ? "" : reader.GetString(2)).Append('\n');
            }
        }
        Dictionary<string, DateTimeOffset> created = PasswordChanged(connection);
        return users.Select(u => new Account(u.Key, "mysql-user:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(u.Value.ToString())))[..32],
            created.GetValueOrDefault(u.Key, DateTimeOffset.UnixEpoch))).ToList();
    }

    // MariaDB keeps when a password was set in mysql.global_priv; elsewhere the date is unknown.
    private static Dictionary<string, DateTimeOffset> PasswordChanged(MySqlConnection connection)
    {
        var created = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        try
        {
            using MySqlCommand command = MySqlServiceDatabase.Command(connection,
                "SELECT User, MIN(CAST(JSON_VALUE(Priv, '$.password_last_changed') AS SIGNED)) FROM mysql.global_priv GROUP BY User");
            using MySqlDataReader reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (!reader.IsDBNull(1))
                {
                    created[reader.GetString(0)] = DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(1));
                }
            }
        }
        catch (MySqlException e) when (e.ErrorCode is MySqlErrorCode.NoSuchTable or MySqlErrorCode.TableAccessDenied or MySqlErrorCode.ParseError)
        {
            // Not MariaDB 10.4+: accounts are listed without their date.
        }
        return created;
    }

    /// <summary>Whether a user of this name can be an account (a valid account name, not a system or the service user).</summary>
    private bool IsAccountName(string user) =>
        AccountName.IsValid(user) && user != _database.ServiceUser && user != _database.Name && !SystemNames.Contains(user, StringComparer.Ordinal);

    /// <summary>
    /// Creates the account <paramref name="name"/>: the users <c>'name'@'%'</c> and <c>'name'@'localhost'</c>
    /// (a server's anonymous <c>''@'localhost'</c> would otherwise shadow <c>'name'@'%'</c> for local
    /// logins) with <paramref name="password"/>, its database and all privileges on it. Returns false if
    /// the user or the database exists already.
    /// </summary>
    public bool CreateAccount(string name, string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (!IsAccountName(name))
        {
            throw new ArgumentException($"'{name}' cannot be an account name on this server", nameof(name));
        }
        using MySqlConnection connection = _database.Open();
        using (MySqlCommand exists = MySqlServiceDatabase.Command(connection,
            "SELECT (SELECT COUNT(*) FROM mysql.user WHERE User = @name) + (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = @name)", null, ("@name", name)))
        {
            if (Convert.ToInt64(exists.ExecuteScalar(), CultureInfo.InvariantCulture) > 0)
            {
                return false;
            }
        }
        string users = SqlName.User(name, "%") + ", " + SqlName.User(name, "localhost");
        foreach (string sql in (string[])[
            $"CREATE USER {SqlName.User(name, "%")} IDENTIFIED BY {SqlName.Literal(password)}",
            $"CREATE USER {SqlName.User(name, "localhost")} IDENTIFIED BY {SqlName.Literal(password)}",
            $"CREATE DATABASE {SqlName.Identifier(name)} CHARACTER SET utf8mb4",
            $"GRANT ALL PRIVILEGES ON {SqlName.Identifier(name)}.* TO {users}",
        ])
        {
            using var command = new MySqlCommand(sql, connection);
            command.ExecuteNonQuery();
        }
        MySqlServiceDatabase.Touch(connection, null, Area);
        return true;
    }

    /// <summary>Sets the password of every host entry of the user <paramref name="name"/>. Returns false if it is not an account.</summary>
    public bool SetPassword(string name, string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        using MySqlConnection connection = _database.Open();
        if (!LoadAccounts(connection).Any(a => a.Name == name))
        {
            return false;
        }
        foreach (string host in Hosts(connection, name))
        {
            using var command = new MySqlCommand($"ALTER USER {SqlName.User(name, host)} IDENTIFIED BY {SqlName.Literal(password)}", connection);
            command.ExecuteNonQuery();
        }
        MySqlServiceDatabase.Touch(connection, null, Area);
        return true;
    }

    private static List<string> Hosts(MySqlConnection connection, string name)
    {
        using MySqlCommand command = MySqlServiceDatabase.Command(connection, "SELECT Host FROM mysql.user WHERE User = @name", null, ("@name", name));
        using MySqlDataReader reader = command.ExecuteReader();
        var hosts = new List<string>();
        while (reader.Read())
        {
            hosts.Add(reader.GetString(0));
        }
        return hosts;
    }

    /// <summary>Database users cannot be created from a hash: use <see cref="CreateAccount"/>.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public bool AddAccount(Account account) =>
        throw new NotSupportedException("accounts on MySQL are database users: create them with a password (iotpe account add --mysql, or CREATE USER)");

    /// <summary>Database users' passwords are set by the server: use <see cref="SetPassword"/>.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public bool SetPasswordHash(string name, string passwordHash) =>
        throw new NotSupportedException("accounts on MySQL are database users: set the password with iotpe account passwd --mysql, or ALTER USER");

    /// <summary>
    /// Drops the account's users at once (so nobody logs in as it any more), deletes its grants,
    /// kv entries and scripts, and records the removal as pending; its database and script user go
    /// when the removal is finished (<see cref="MySqlAccountDatabases.Delete"/>, then <see cref="FinishRemoval"/>).
    /// </summary>
    public bool RemoveAccount(string name)
    {
        using MySqlConnection connection = _database.Open();
        if (!LoadAccounts(connection).Any(a => a.Name == name))
        {
            return false;
        }
        foreach (string host in Hosts(connection, name))
        {
            using var drop = new MySqlCommand($"DROP USER IF EXISTS {SqlName.User(name, host)}", connection);
            drop.ExecuteNonQuery();
        }
        using MySqlTransaction transaction = connection.BeginTransaction();
        DeleteData(connection, transaction, name);
        using (MySqlCommand pending = MySqlServiceDatabase.Command(connection,
            "REPLACE INTO account_removals(name, removed_at) VALUES (@name, @at)", transaction, ("@name", name), ("@at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())))
        {
            pending.ExecuteNonQuery();
        }
        MySqlServiceDatabase.Touch(connection, transaction, Area);
        MySqlServiceDatabase.Touch(connection, transaction, ScriptsArea);
        transaction.Commit();
        return true;
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> PendingRemovals()
    {
        using MySqlConnection connection = _database.Open();
        using MySqlCommand command = MySqlServiceDatabase.Command(connection, "SELECT name FROM account_removals ORDER BY removed_at, name");
        using MySqlDataReader reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }

    /// <inheritdoc/>
    public void FinishRemoval(string name)
    {
        using MySqlConnection connection = _database.Open();
        using MySqlTransaction transaction = connection.BeginTransaction();
        // Deleted again: a script run under way at the removal may have written after it.
        DeleteData(connection, transaction, name);
        using (MySqlCommand pending = MySqlServiceDatabase.Command(connection, "DELETE FROM account_removals WHERE name = @name", transaction, ("@name", name)))
        {
            pending.ExecuteNonQuery();
        }
        MySqlServiceDatabase.Touch(connection, transaction, ScriptsArea);
        transaction.Commit();
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> Remains(string name)
    {
        using MySqlConnection connection = _database.Open();
        var remains = new List<string>();
        Count("SELECT COUNT(*) FROM account_removals WHERE name = @name", "an unfinished removal");
        Count("SELECT COUNT(*) FROM kv WHERE account = @name", "kv entries");
        Count("SELECT COUNT(*) FROM scripts WHERE account = @name", "script versions");
        Count("SELECT COUNT(*) FROM script_schedules WHERE account = @name", "script schedules");
        Count("SELECT COUNT(*) FROM grants WHERE owner = @name OR grantee = @name", "grants");
        Count("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = @name", "a database");
        return remains;

        void Count(string sql, string what)
        {
            using MySqlCommand command = MySqlServiceDatabase.Command(connection, sql, null, ("@name", name));
            long count = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (count > 0)
            {
                remains.Add(count == 1 && (what.StartsWith("a ", StringComparison.Ordinal) || what.StartsWith("an ", StringComparison.Ordinal)) ? what : $"{count} {what}");
            }
        }
    }

    private static void DeleteData(MySqlConnection connection, MySqlTransaction transaction, string name)
    {
        foreach (string sql in (string[])[
            "DELETE FROM grants WHERE owner = @name OR grantee = @name",
            "DELETE FROM kv WHERE account = @name",
            "DELETE FROM kv_usage WHERE account = @name",
            "DELETE FROM scripts WHERE account = @name",
            "DELETE FROM script_schedules WHERE account = @name",
        ])
        {
            using MySqlCommand command = MySqlServiceDatabase.Command(connection, sql, transaction, ("@name", name));
            command.ExecuteNonQuery();
        }
    }

    /// <inheritdoc/>
    public void AddGrant(Grant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        using MySqlConnection connection = _database.Open();
        using MySqlTransaction transaction = connection.BeginTransaction();
        using MySqlCommand command = MySqlServiceDatabase.Command(connection,
            "INSERT IGNORE INTO grants(owner, grantee, kind, filter, filter_hash) VALUES (@owner, @grantee, @kind, @filter, @hash)", transaction, Bind(grant));
        if (command.ExecuteNonQuery() == 1)
        {
            MySqlServiceDatabase.Touch(connection, transaction, Area);
        }
        transaction.Commit();
    }

    /// <inheritdoc/>
    public bool RemoveGrant(Grant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        using MySqlConnection connection = _database.Open();
        using MySqlTransaction transaction = connection.BeginTransaction();
        using MySqlCommand command = MySqlServiceDatabase.Command(connection,
            "DELETE FROM grants WHERE owner = @owner AND grantee = @grantee AND kind = @kind AND filter_hash = @hash", transaction, Bind(grant));
        bool removed = command.ExecuteNonQuery() == 1;
        if (removed)
        {
            MySqlServiceDatabase.Touch(connection, transaction, Area);
        }
        transaction.Commit();
        return removed;
    }

    private static (string, object?)[] Bind(Grant grant) =>
    [
        ("@owner", grant.Owner), ("@grantee", grant.Grantee), ("@kind", (int)grant.Kind), ("@filter", grant.Filter),
        ("@hash", SHA256.HashData(Encoding.UTF8.GetBytes(grant.Filter))),
    ];
}

using System.Security.Cryptography;
using MySqlConnector;

namespace IoTPE.Engine.Storage.MySql;

/// <summary>
/// The engine-managed database user through which an account's scripts reach its database:
/// <c>'&lt;account&gt;$run'</c> (a name no account can have), with a random password kept in the
/// service database (the engine never knows the account's own password), whose only privileges are
/// data and schema privileges on the account's own database, without GRANT OPTION. Whatever a
/// script tries beyond that (another account's tables, CREATE DATABASE, GRANT, the server's users)
/// the server refuses. Created when first needed, so accounts an administrator made get one too.
/// </summary>
internal sealed class ScriptUsers(MySqlServiceDatabase database, MySqlAccountDatabaseLimits limits)
{
    private const string Privileges = "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, CREATE VIEW, SHOW VIEW, REFERENCES";
    private static readonly string[] Hosts = ["%", "localhost"];

    /// <summary>The script user's name for <paramref name="account"/>.</summary>
    public static string NameOf(string account) => account + "$run";

    /// <summary>The script user's password, creating the user (and granting it the account's database) if needed.</summary>
    /// <exception cref="Scripts.AccountDatabaseException">The account has no database.</exception>
    public string PasswordOf(string account)
    {
        using MySqlConnection connection = database.Open();
        using (MySqlCommand known = MySqlServiceDatabase.Command(connection, """
            SELECT s.password FROM script_users s WHERE s.account = @account
            AND (SELECT COUNT(*) FROM mysql.user WHERE User = s.user_name) = 2
            """, null, ("@account", account)))
        {
            if (known.ExecuteScalar() is string password)
            {
                return password;
            }
        }
        using (MySqlCommand schema = MySqlServiceDatabase.Command(connection, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = @account", null, ("@account", account)))
        {
            if (Convert.ToInt64(schema.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                throw new Scripts.AccountDatabaseException($"SQL error: account {account} has no database");
            }
        }
        string secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        string user = NameOf(account);
        foreach (string host in Hosts)
        {
            Run(connection, $"CREATE USER IF NOT EXISTS {SqlName.User(user, host)} IDENTIFIED BY {SqlName.Literal(secret)}");
            Run(connection, $"ALTER USER {SqlName.User(user, host)} IDENTIFIED BY {SqlName.Literal(secret)} WITH MAX_USER_CONNECTIONS {limits.MaxConnectionsPerAccount}");
            Run(connection, $"GRANT {Privileges} ON {SqlName.Identifier(account)}.* TO {SqlName.User(user, host)}");
        }
        using MySqlCommand store = MySqlServiceDatabase.Command(connection, "REPLACE INTO script_users(account, user_name, password) VALUES (@account, @user, @password)", null,
            ("@account", account), ("@user", user), ("@password", secret));
        store.ExecuteNonQuery();
        return secret;
    }

    /// <summary>Drops the account's database and script user. Returns whether the database existed.</summary>
    public bool Drop(string account)
    {
        using MySqlConnection connection = database.Open();
        using MySqlCommand schema = MySqlServiceDatabase.Command(connection, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = @account", null, ("@account", account));
        bool existed = Convert.ToInt64(schema.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0;
        foreach (string host in Hosts)
        {
            Run(connection, $"DROP USER IF EXISTS {SqlName.User(NameOf(account), host)}");
        }
        Run(connection, $"DROP DATABASE IF EXISTS {SqlName.Identifier(account)}");
        using MySqlCommand forget = MySqlServiceDatabase.Command(connection, "DELETE FROM script_users WHERE account = @account", null, ("@account", account));
        forget.ExecuteNonQuery();
        return existed;
    }

    private static void Run(MySqlConnection connection, string sql)
    {
        using var command = new MySqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}

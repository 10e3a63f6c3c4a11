using IoTPE.Engine.Accounts;
using Microsoft.Data.Sqlite;

namespace IoTPE.Storage.Sqlite;

/// <summary>Accounts and grants in <c>engine.db</c> (see <see cref="SqliteEngineDatabase"/>). Thread-safe.</summary>
public sealed class SqliteAccountStore(SqliteEngineDatabase database) : IAccountStore
{
    private const string Area = "accounts";

    /// <inheritdoc/>
    public long ChangeVersion => database.ChangeVersion(Area);

    /// <inheritdoc/>
    public (IReadOnlyList<Account> Accounts, IReadOnlyList<Grant> Grants) LoadAll()
    {
        lock (database.Gate)
        {
            var accounts = new List<Account>();
            var grants = new List<Grant>();
            using SqliteTransaction transaction = database.Connection.BeginTransaction(deferred: true);
            using (SqliteCommand command = database.Command("SELECT name, password_hash, created_at FROM accounts ORDER BY name", transaction))
            using (SqliteDataReader reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    accounts.Add(new Account(reader.GetString(0), reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
                }
            }
            using (SqliteCommand command = database.Command("SELECT owner, grantee, kind, filter FROM grants ORDER BY owner, grantee, kind, filter", transaction))
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
        return Write(transaction =>
        {
            using SqliteCommand command = database.Command("INSERT OR IGNORE INTO accounts(name, password_hash, created_at) VALUES ($name, $hash, $created)", transaction);
            command.Parameters.AddWithValue("$name", account.Name);
            command.Parameters.AddWithValue("$hash", account.PasswordHash);
            command.Parameters.AddWithValue("$created", account.CreatedAt.ToUnixTimeMilliseconds());
            return command.ExecuteNonQuery() == 1;
        });
    }

    /// <inheritdoc/>
    public bool SetPasswordHash(string name, string passwordHash) => Write(transaction =>
    {
        using SqliteCommand command = database.Command("UPDATE accounts SET password_hash = $hash WHERE name = $name", transaction);
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$hash", passwordHash);
        return command.ExecuteNonQuery() == 1;
    });

    /// <inheritdoc/>
    public bool RemoveAccount(string name) => Write(transaction =>
    {
        using SqliteCommand grants = database.Command("DELETE FROM grants WHERE owner = $name OR grantee = $name", transaction);
        grants.Parameters.AddWithValue("$name", name);
        grants.ExecuteNonQuery();
        using SqliteCommand account = database.Command("DELETE FROM accounts WHERE name = $name", transaction);
        account.Parameters.AddWithValue("$name", name);
        return account.ExecuteNonQuery() == 1;
    });

    /// <inheritdoc/>
    public void AddGrant(Grant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        Write(transaction =>
        {
            using SqliteCommand command = database.Command("INSERT OR IGNORE INTO grants(owner, grantee, kind, filter) VALUES ($owner, $grantee, $kind, $filter)", transaction);
            Bind(command, grant);
            return command.ExecuteNonQuery() == 1;
        });
    }

    /// <inheritdoc/>
    public bool RemoveGrant(Grant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        return Write(transaction =>
        {
            using SqliteCommand command = database.Command("DELETE FROM grants WHERE owner = $owner AND grantee = $grantee AND kind = $kind AND filter = $filter", transaction);
            Bind(command, grant);
            return command.ExecuteNonQuery() == 1;
        });
    }

    /// <summary>Runs a change in one transaction that also moves the change counter when something changed.</summary>
    private bool Write(Func<SqliteTransaction, bool> change)
    {
        lock (database.Gate)
        {
            using SqliteTransaction transaction = database.Connection.BeginTransaction();
            bool changed = change(transaction);
            if (changed)
            {
                database.Touch(Area, transaction);
            }
            transaction.Commit();
            return changed;
        }
    }

    private static void Bind(SqliteCommand command, Grant grant)
    {
        command.Parameters.AddWithValue("$owner", grant.Owner);
        command.Parameters.AddWithValue("$grantee", grant.Grantee);
        command.Parameters.AddWithValue("$kind", (int)grant.Kind);
        command.Parameters.AddWithValue("$filter", grant.Filter);
    }
}

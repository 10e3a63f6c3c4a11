using IoTPE.Engine.Accounts;
using Microsoft.Data.Sqlite;

namespace IoTPE.Engine.Storage.Sqlite;

/// <summary>
/// Accounts and grants in <c>engine.db</c> (see <see cref="SqliteEngineDatabase"/>). Removing an
/// account deletes, in one transaction, the account, its grants given and received, its kv entries,
/// its scripts with every version and schedule, and records the removal in <c>account_removals</c>
/// until the broker's part (sessions, retained messages) and the account's database folder are gone
/// too (<see cref="FinishRemoval"/>). Thread-safe.
/// </summary>
public sealed class SqliteAccountStore(SqliteEngineDatabase database) : IAccountStore
{
    private const string Area = "accounts";
    private const string ScriptsArea = "scripts";

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
        using SqliteCommand account = database.Command("DELETE FROM accounts WHERE name = $name", transaction);
        account.Parameters.AddWithValue("$name", name);
        if (account.ExecuteNonQuery() != 1)
        {
            return false;
        }
        DeleteData(name, transaction);
        using SqliteCommand pending = database.Command("INSERT OR REPLACE INTO account_removals(name, removed_at) VALUES ($name, $at)", transaction);
        pending.Parameters.AddWithValue("$name", name);
        pending.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        pending.ExecuteNonQuery();
        database.Touch(ScriptsArea, transaction);
        return true;
    });

    /// <inheritdoc/>
    public IReadOnlyList<string> PendingRemovals()
    {
        lock (database.Gate)
        {
            using SqliteCommand command = database.Command("SELECT name FROM account_removals ORDER BY removed_at, name");
            using SqliteDataReader reader = command.ExecuteReader();
            var names = new List<string>();
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }
            return names;
        }
    }

    /// <inheritdoc/>
    public void FinishRemoval(string name) => Write(transaction =>
    {
        // Deleted again: a script run under way at the removal may have written after it.
        DeleteData(name, transaction);
        using SqliteCommand pending = database.Command("DELETE FROM account_removals WHERE name = $name", transaction);
        pending.Parameters.AddWithValue("$name", name);
        pending.ExecuteNonQuery();
        database.Touch(ScriptsArea, transaction);
        return true;
    });

    /// <inheritdoc/>
    public IReadOnlyList<string> Remains(string name)
    {
        lock (database.Gate)
        {
            var remains = new List<string>();
            Count("SELECT COUNT(*) FROM account_removals WHERE name = $name", "an unfinished removal");
            Count("SELECT COUNT(*) FROM kv WHERE account = $name", "kv entries");
            Count("SELECT COUNT(*) FROM scripts WHERE account = $name", "script versions");
            Count("SELECT COUNT(*) FROM script_schedules WHERE account = $name", "script schedules");
            Count("SELECT COUNT(*) FROM grants WHERE owner = $name OR grantee = $name", "grants");
            return remains;

            void Count(string sql, string what)
            {
                using SqliteCommand command = database.Command(sql);
                command.Parameters.AddWithValue("$name", name);
                long count = (long)command.ExecuteScalar()!;
                if (count > 0)
                {
                    remains.Add(count == 1 && what.StartsWith("an ", StringComparison.Ordinal) ? what : $"{count} {what}");
                }
            }
        }
    }

    /// <summary>Deletes what engine.db holds for an account besides its row: grants, kv entries, scripts and schedules.</summary>
    private void DeleteData(string name, SqliteTransaction transaction)
    {
        foreach (string sql in (string[])[
            "DELETE FROM grants WHERE owner = $name OR grantee = $name",
            "DELETE FROM kv WHERE account = $name",
            "DELETE FROM kv_usage WHERE account = $name",
            "DELETE FROM scripts WHERE account = $name",
            "DELETE FROM script_schedules WHERE account = $name",
        ])
        {
            using SqliteCommand command = database.Command(sql, transaction);
            command.Parameters.AddWithValue("$name", name);
            command.ExecuteNonQuery();
        }
    }

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

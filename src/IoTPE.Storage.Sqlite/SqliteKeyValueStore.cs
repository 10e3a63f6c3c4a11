using IoTPE.Engine.Scripts;
using Microsoft.Data.Sqlite;

namespace IoTPE.Storage.Sqlite;

/// <summary>The accounts' key-value entries (<c>kv</c> in scripts), in <c>engine.db</c>. Thread-safe.</summary>
public sealed class SqliteKeyValueStore(SqliteEngineDatabase database) : IKeyValueStore
{
    /// <inheritdoc/>
    public string? Get(string account, string key)
    {
        lock (database.Gate)
        {
            using SqliteCommand command = database.Command("SELECT value FROM kv WHERE account = $account AND key = $key");
            command.Parameters.AddWithValue("$account", account);
            command.Parameters.AddWithValue("$key", key);
            return command.ExecuteScalar() as string;
        }
    }

    /// <inheritdoc/>
    public bool Set(string account, string key, string json, int maxKeys)
    {
        lock (database.Gate)
        {
            using SqliteTransaction transaction = database.Connection.BeginTransaction();
            using SqliteCommand exists = database.Command("SELECT 1 FROM kv WHERE account = $account AND key = $key", transaction);
            exists.Parameters.AddWithValue("$account", account);
            exists.Parameters.AddWithValue("$key", key);
            if (exists.ExecuteScalar() is null)
            {
                using SqliteCommand count = database.Command("SELECT COUNT(*) FROM kv WHERE account = $account", transaction);
                count.Parameters.AddWithValue("$account", account);
                if ((long)count.ExecuteScalar()! >= maxKeys)
                {
                    return false;
                }
            }
            using SqliteCommand upsert = database.Command("INSERT INTO kv(account, key, value) VALUES ($account, $key, $value) ON CONFLICT(account, key) DO UPDATE SET value = $value", transaction);
            upsert.Parameters.AddWithValue("$account", account);
            upsert.Parameters.AddWithValue("$key", key);
            upsert.Parameters.AddWithValue("$value", json);
            upsert.ExecuteNonQuery();
            transaction.Commit();
            return true;
        }
    }

    /// <inheritdoc/>
    public bool Remove(string account, string key)
    {
        lock (database.Gate)
        {
            using SqliteCommand command = database.Command("DELETE FROM kv WHERE account = $account AND key = $key");
            command.Parameters.AddWithValue("$account", account);
            command.Parameters.AddWithValue("$key", key);
            return command.ExecuteNonQuery() == 1;
        }
    }
}

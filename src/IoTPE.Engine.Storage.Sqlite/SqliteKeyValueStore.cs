using System.Text;
using IoTPE.Engine.Scripts;
using Microsoft.Data.Sqlite;

namespace IoTPE.Engine.Storage.Sqlite;

/// <summary>
/// The accounts' key-value entries (<c>kv</c> in scripts), in <c>engine.db</c>, with the keys and
/// bytes each account's entries take kept beside them (<c>kv_usage</c>, changed in the same
/// transaction), so a quota check reads one row. Thread-safe.
/// </summary>
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
    public KeyValueSetOutcome Set(string account, string key, string json, KeyValueQuota quota)
    {
        ArgumentNullException.ThrowIfNull(quota);
        long keyBytes = Encoding.UTF8.GetByteCount(key);
        long valueBytes = Encoding.UTF8.GetByteCount(json);
        lock (database.Gate)
        {
            using SqliteTransaction transaction = database.Connection.BeginTransaction();
            // A run that was under way when its account was removed must not leave entries behind.
            using SqliteCommand exists = database.Command("SELECT 1 FROM accounts WHERE name = $account", transaction);
            exists.Parameters.AddWithValue("$account", account);
            if (exists.ExecuteScalar() is null)
            {
                return KeyValueSetOutcome.NoSuchAccount;
            }
            using SqliteCommand old = database.Command("SELECT length(CAST(value AS BLOB)) FROM kv WHERE account = $account AND key = $key", transaction);
            old.Parameters.AddWithValue("$account", account);
            old.Parameters.AddWithValue("$key", key);
            long? oldValueBytes = old.ExecuteScalar() is long length ? length : null;
            (long keys, long bytes) = ReadUsage(account, transaction);
            long newKeys = keys + (oldValueBytes is null ? 1 : 0);
            long newBytes = bytes - (oldValueBytes is { } previous ? keyBytes + previous : 0) + keyBytes + valueBytes;
            if (oldValueBytes is null && keys >= quota.MaxKeys)
            {
                return KeyValueSetOutcome.TooManyKeys;
            }
            if (newBytes > quota.MaxBytes && newBytes > bytes)
            {
                return KeyValueSetOutcome.TooManyBytes;
            }
            using SqliteCommand upsert = database.Command("INSERT INTO kv(account, key, value) VALUES ($account, $key, $value) ON CONFLICT(account, key) DO UPDATE SET value = $value", transaction);
            upsert.Parameters.AddWithValue("$account", account);
            upsert.Parameters.AddWithValue("$key", key);
            upsert.Parameters.AddWithValue("$value", json);
            upsert.ExecuteNonQuery();
            WriteUsage(account, newKeys, newBytes, transaction);
            transaction.Commit();
            return KeyValueSetOutcome.Stored;
        }
    }

    /// <inheritdoc/>
    public bool Remove(string account, string key)
    {
        lock (database.Gate)
        {
            using SqliteTransaction transaction = database.Connection.BeginTransaction();
            using SqliteCommand old = database.Command("SELECT length(CAST(key AS BLOB)) + length(CAST(value AS BLOB)) FROM kv WHERE account = $account AND key = $key", transaction);
            old.Parameters.AddWithValue("$account", account);
            old.Parameters.AddWithValue("$key", key);
            if (old.ExecuteScalar() is not long entryBytes)
            {
                return false;
            }
            using SqliteCommand command = database.Command("DELETE FROM kv WHERE account = $account AND key = $key", transaction);
            command.Parameters.AddWithValue("$account", account);
            command.Parameters.AddWithValue("$key", key);
            command.ExecuteNonQuery();
            (long keys, long bytes) = ReadUsage(account, transaction);
            WriteUsage(account, Math.Max(0, keys - 1), Math.Max(0, bytes - entryBytes), transaction);
            transaction.Commit();
            return true;
        }
    }

    /// <inheritdoc/>
    public (long Keys, long Bytes) Usage(string account)
    {
        lock (database.Gate)
        {
            return ReadUsage(account, null);
        }
    }

    private (long Keys, long Bytes) ReadUsage(string account, SqliteTransaction? transaction)
    {
        using SqliteCommand usage = database.Command("SELECT keys, bytes FROM kv_usage WHERE account = $account", transaction);
        usage.Parameters.AddWithValue("$account", account);
        using SqliteDataReader reader = usage.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1)) : (0, 0);
    }

    private void WriteUsage(string account, long keys, long bytes, SqliteTransaction transaction)
    {
        using SqliteCommand command = database.Command(
            "INSERT INTO kv_usage(account, keys, bytes) VALUES ($account, $keys, $bytes) ON CONFLICT(account) DO UPDATE SET keys = $keys, bytes = $bytes", transaction);
        command.Parameters.AddWithValue("$account", account);
        command.Parameters.AddWithValue("$keys", keys);
        command.Parameters.AddWithValue("$bytes", bytes);
        command.ExecuteNonQuery();
    }
}

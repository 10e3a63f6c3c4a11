using System.Security.Cryptography;
using System.Text;
using IoTPE.Engine.Scripts;
using MySqlConnector;

namespace IoTPE.Engine.Storage.MySql;

/// <summary>
/// The accounts' <c>kv</c> entries in the service database, with each account's keys and bytes kept
/// beside them (<c>kv_usage</c>, changed in the same transaction, its row locked), so a quota check
/// reads one row. Keys are found by their SHA-256, so a key may be as long as a value. Thread-safe.
/// </summary>
public sealed class MySqlKeyValueStore(MySqlServiceDatabase database, MySqlAccountStore accounts) : IKeyValueStore
{
    /// <inheritdoc/>
    public string? Get(string account, string key)
    {
        using MySqlConnection connection = database.Open();
        using MySqlCommand command = MySqlServiceDatabase.Command(connection, "SELECT value FROM kv WHERE account = @account AND k_hash = @hash", null,
            ("@account", account), ("@hash", Hash(key)));
        return command.ExecuteScalar() as string;
    }

    /// <inheritdoc/>
    public KeyValueSetOutcome Set(string account, string key, string json, KeyValueQuota quota)
    {
        ArgumentNullException.ThrowIfNull(quota);
        long keyBytes = Encoding.UTF8.GetByteCount(key);
        long valueBytes = Encoding.UTF8.GetByteCount(json);
        using MySqlConnection connection = database.Open();
        // A run that was under way when its account was removed must not leave entries behind.
        if (LockUsage(connection, account) is not { } locked)
        {
            return KeyValueSetOutcome.NoSuchAccount;
        }
        using MySqlTransaction transaction = locked.Transaction;
        (long keys, long bytes) = locked.Usage;
        using MySqlCommand old = MySqlServiceDatabase.Command(connection, "SELECT OCTET_LENGTH(value) FROM kv WHERE account = @account AND k_hash = @hash", transaction,
            ("@account", account), ("@hash", Hash(key)));
        long? oldValueBytes = old.ExecuteScalar() is { } length and not DBNull ? Convert.ToInt64(length, System.Globalization.CultureInfo.InvariantCulture) : null;
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
        using MySqlCommand upsert = MySqlServiceDatabase.Command(connection,
            "INSERT INTO kv(account, k, k_hash, value) VALUES (@account, @key, @hash, @value) ON DUPLICATE KEY UPDATE value = @value", transaction,
            ("@account", account), ("@key", key), ("@hash", Hash(key)), ("@value", json));
        upsert.ExecuteNonQuery();
        WriteUsage(connection, transaction, account, newKeys, newBytes);
        transaction.Commit();
        return KeyValueSetOutcome.Stored;
    }

    /// <inheritdoc/>
    public bool Remove(string account, string key)
    {
        using MySqlConnection connection = database.Open();
        using MySqlTransaction transaction = connection.BeginTransaction();
        (long keys, long bytes) = ReadUsage(connection, transaction, account, forUpdate: true) ?? (0, 0);
        using MySqlCommand old = MySqlServiceDatabase.Command(connection, "SELECT OCTET_LENGTH(k) + OCTET_LENGTH(value) FROM kv WHERE account = @account AND k_hash = @hash", transaction,
            ("@account", account), ("@hash", Hash(key)));
        if (old.ExecuteScalar() is not { } found || found is DBNull)
        {
            return false;
        }
        long entryBytes = Convert.ToInt64(found, System.Globalization.CultureInfo.InvariantCulture);
        using MySqlCommand delete = MySqlServiceDatabase.Command(connection, "DELETE FROM kv WHERE account = @account AND k_hash = @hash", transaction,
            ("@account", account), ("@hash", Hash(key)));
        delete.ExecuteNonQuery();
        WriteUsage(connection, transaction, account, Math.Max(0, keys - 1), Math.Max(0, bytes - entryBytes));
        transaction.Commit();
        return true;
    }

    /// <inheritdoc/>
    public (long Keys, long Bytes) Usage(string account)
    {
        using MySqlConnection connection = database.Open();
        return ReadUsage(connection, null, account, forUpdate: false) ?? (0, 0);
    }

    // A new transaction with the account's usage row locked; null when the account does not exist.
    private (MySqlTransaction Transaction, (long Keys, long Bytes) Usage)? LockUsage(MySqlConnection connection, string account)
    {
        while (accounts.Exists(account))
        {
            MySqlTransaction transaction = connection.BeginTransaction();
            if (ReadUsage(connection, transaction, account, forUpdate: true) is { } usage)
            {
                return (transaction, usage);
            }
            // A locking read of a missing row takes only a gap lock, which concurrent first writers
            // all get, and their inserts then deadlock each other: create the row on its own (a
            // committed no-op if another writer got there first), then lock it.
            transaction.Dispose();
            CreateUsage(connection, account);
        }
        return null;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    private static (long Keys, long Bytes)? ReadUsage(MySqlConnection connection, MySqlTransaction? transaction, string account, bool forUpdate)
    {
        using MySqlCommand usage = MySqlServiceDatabase.Command(connection,
            "SELECT `keys`, bytes FROM kv_usage WHERE account = @account" + (forUpdate ? " FOR UPDATE" : ""), transaction, ("@account", account));
        using MySqlDataReader reader = usage.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    private static void CreateUsage(MySqlConnection connection, string account)
    {
        using MySqlCommand command = MySqlServiceDatabase.Command(connection,
            "INSERT IGNORE INTO kv_usage(account, `keys`, bytes) VALUES (@account, 0, 0)", null, ("@account", account));
        command.ExecuteNonQuery();
    }

    private static void WriteUsage(MySqlConnection connection, MySqlTransaction transaction, string account, long keys, long bytes)
    {
        using MySqlCommand command = MySqlServiceDatabase.Command(connection,
            "INSERT INTO kv_usage(account, `keys`, bytes) VALUES (@account, @keys, @bytes) ON DUPLICATE KEY UPDATE `keys` = @keys, bytes = @bytes", transaction,
            ("@account", account), ("@keys", keys), ("@bytes", bytes));
        command.ExecuteNonQuery();
    }
}

using System.Text;
using MySqlConnector;

namespace IoTPE.Broker.Storage.MySql;

/// <summary>Reads the whole broker state back, after sweeping messages that nothing refers to.</summary>
internal static class MySqlBrokerStateReader
{
    /// <summary>
    /// Deletes messages referenced by no delivery and no retained entry (a crash between the broker's
    /// last reference going and its DeleteMessage leaves those behind; nothing could deliver them again)
    /// and returns the state without them.
    /// </summary>
    /// <remarks>
    /// The references are found in the state just read, not by the server: a <c>NOT IN</c> subquery
    /// in a DELETE is not materialized by MariaDB and, without an index on <c>deliveries.message_id</c>
    /// (which every delivery write would pay for), scans the deliveries once per message.
    /// </remarks>
    public static StoredBrokerState SweepOrphanedMessages(MySqlConnection connection, StoredBrokerState state, out int swept)
    {
        var referenced = new HashSet<long>(state.Deliveries.Count + state.Retained.Count);
        foreach (StoredDelivery delivery in state.Deliveries)
        {
            referenced.Add(delivery.MessageId);
        }
        foreach (StoredRetained retained in state.Retained)
        {
            referenced.Add(retained.MessageId);
        }
        List<long> orphans = [.. state.Messages.Where(m => !referenced.Contains(m.Id)).Select(m => m.Id)];
        swept = orphans.Count;
        if (orphans.Count == 0)
        {
            return state;
        }
        foreach (long[] chunk in orphans.Chunk(1000))
        {
            using var command = new MySqlCommand($"DELETE FROM messages WHERE id IN ({string.Join(',', chunk)})", connection);
            command.ExecuteNonQuery();
        }
        return state with { Messages = [.. state.Messages.Where(m => referenced.Contains(m.Id))] };
    }

    /// <summary>Reads every table in one consistent snapshot, so the parts agree with each other.</summary>
    public static StoredBrokerState Read(MySqlConnection connection)
    {
        Execute(connection, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        Execute(connection, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
        try
        {
            var state = new StoredBrokerState(
                ReadSessions(connection),
                ReadSubscriptions(connection),
                ReadMessages(connection),
                ReadDeliveries(connection),
                ReadIncomingPacketIdentifiers(connection),
                ReadRetained(connection))
            {
                MessageIdsReservedUpTo = ReadCounter(connection, "message_ids_reserved"),
            };
            Execute(connection, "COMMIT");
            return state;
        }
        catch
        {
            TryExecute(connection, "ROLLBACK");
            throw;
        }
    }

    /// <summary>Reads one row of <c>counters</c>, or 0 when there is none.</summary>
    public static long ReadCounter(MySqlConnection connection, string name, MySqlTransaction? transaction = null)
    {
        using var command = new MySqlCommand("SELECT value FROM counters WHERE name = @name", connection, transaction);
        command.Parameters.AddWithValue("@name", name);
        return command.ExecuteScalar() is long value ? value : 0;
    }

    private static List<StoredSession> ReadSessions(MySqlConnection connection)
    {
        var sessions = new List<StoredSession>();
        using var command = new MySqlCommand(
            "SELECT client_id, protocol_version, expiry_interval_seconds, disconnected_at_unix_ms, user_name FROM sessions ORDER BY client_id", connection);
        using MySqlDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            sessions.Add(new StoredSession(
                Text(reader, 0)!,
                reader.GetByte(1),
                reader.GetUInt32(2),
                reader.IsDBNull(3) ? null : reader.GetInt64(3),
                Text(reader, 4)));
        }
        return sessions;
    }

    private static List<StoredSubscription> ReadSubscriptions(MySqlConnection connection)
    {
        var subscriptions = new List<StoredSubscription>();
        using var command = new MySqlCommand(
            "SELECT client_id, topic_filter, options, subscription_identifier FROM subscriptions ORDER BY client_id, topic_filter", connection);
        using MySqlDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            subscriptions.Add(new StoredSubscription(Text(reader, 0)!, Text(reader, 1)!, reader.GetByte(2), reader.GetUInt32(3)));
        }
        return subscriptions;
    }

    private static List<StoredMessage> ReadMessages(MySqlConnection connection)
    {
        var messages = new List<StoredMessage>();
        using var command = new MySqlCommand(
            "SELECT id, packet, expires_at_unix_ms, publisher, publisher_user_name, LENGTH(payload), stored_at_unix_ms FROM messages ORDER BY id", connection);
        using MySqlDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            bool payloadApart = !reader.IsDBNull(5);
            messages.Add(new StoredMessage(
                reader.GetInt64(0),
                (byte[])reader.GetValue(1),
                reader.IsDBNull(2) ? null : reader.GetInt64(2),
                Text(reader, 3),
                Text(reader, 4))
            {
                PayloadApart = payloadApart,
                PayloadLength = payloadApart ? (int)reader.GetInt64(5) : 0,
                StoredAtUnixMs = reader.IsDBNull(6) ? null : reader.GetInt64(6),
            });
        }
        return messages;
    }

    private static List<StoredDelivery> ReadDeliveries(MySqlConnection connection)
    {
        var deliveries = new List<StoredDelivery>();
        using var command = new MySqlCommand(
            "SELECT client_id, sequence, message_id, qos, retain_flag, released, subscription_identifiers FROM deliveries ORDER BY client_id, sequence", connection);
        using MySqlDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            deliveries.Add(new StoredDelivery(
                Text(reader, 0)!,
                reader.GetInt64(1),
                reader.GetInt64(2),
                reader.GetByte(3),
                reader.GetByte(4) != 0,
                reader.GetByte(5) != 0,
                reader.IsDBNull(6) ? [] : SubscriptionIdentifierList.Decode((byte[])reader.GetValue(6))));
        }
        return deliveries;
    }

    private static List<StoredIncomingPacketIdentifier> ReadIncomingPacketIdentifiers(MySqlConnection connection)
    {
        var identifiers = new List<StoredIncomingPacketIdentifier>();
        using var command = new MySqlCommand(
            "SELECT client_id, packet_identifier FROM incoming_packet_identifiers ORDER BY client_id, packet_identifier", connection);
        using MySqlDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            identifiers.Add(new StoredIncomingPacketIdentifier(Text(reader, 0)!, reader.GetUInt16(1)));
        }
        return identifiers;
    }

    private static List<StoredRetained> ReadRetained(MySqlConnection connection)
    {
        var retained = new List<StoredRetained>();
        using var command = new MySqlCommand("SELECT topic, message_id FROM retained ORDER BY topic", connection);
        using MySqlDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            retained.Add(new StoredRetained(Text(reader, 0)!, reader.GetInt64(1)));
        }
        return retained;
    }

    /// <summary>A binary column holding UTF-8 text (keys are VARBINARY so that they compare byte by byte).</summary>
    private static string? Text(MySqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : Encoding.UTF8.GetString((byte[])reader.GetValue(ordinal));

    private static void Execute(MySqlConnection connection, string sql)
    {
        using var command = new MySqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    private static void TryExecute(MySqlConnection connection, string sql)
    {
        try
        {
            Execute(connection, sql);
        }
        catch (Exception exception) when (exception is MySqlException or InvalidOperationException)
        {
            // The connection is gone; the server rolls the transaction back with it.
        }
    }
}

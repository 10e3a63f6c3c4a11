using System.Globalization;
using System.Text;
using MySqlConnector;

namespace IoTPE.Broker.Storage.MySql;

/// <summary>Reads the broker state back (after sweeping messages that nothing refers to), and pages of a session's queue.</summary>
internal static class MySqlBrokerStateReader
{
    /// <summary>
    /// Deletes messages referenced by no delivery and no retained entry (a crash between the broker's
    /// last reference going and its DeleteMessage leaves those behind; nothing could deliver them again).
    /// </summary>
    /// <returns>How many messages were deleted.</returns>
    /// <remarks>
    /// The referenced ids are joined as derived tables, which the server materializes once with a key
    /// (one pass over the deliveries): a <c>NOT IN</c> subquery in a single-table DELETE is not
    /// materialized by MariaDB and, without an index on <c>deliveries.message_id</c> (which every
    /// delivery write would pay for), scans the deliveries once per message.
    /// </remarks>
    public static int SweepOrphanedMessages(MySqlConnection connection)
    {
        using var command = new MySqlCommand(
            "DELETE m FROM messages m " +
            "LEFT JOIN (SELECT DISTINCT message_id FROM deliveries) d ON d.message_id = m.id " +
            "LEFT JOIN (SELECT DISTINCT message_id FROM retained) r ON r.message_id = m.id " +
            "WHERE d.message_id IS NULL AND r.message_id IS NULL", connection);
        return command.ExecuteNonQuery();
    }

    /// <summary>
    /// Reads every table in one consistent snapshot, so the parts agree with each other; of each
    /// session's deliveries only the first <paramref name="maxDeliveriesPerSession"/>, and of the
    /// messages only those the broker must hold (see <see cref="IBrokerStore.Load(int)"/>).
    /// </summary>
    public static StoredBrokerState Read(MySqlConnection connection, int maxDeliveriesPerSession)
    {
        Execute(connection, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        Execute(connection, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
        try
        {
            var state = new StoredBrokerState(
                ReadSessions(connection),
                ReadSubscriptions(connection),
                ReadMessages(connection, maxDeliveriesPerSession),
                ReadDeliveries(connection, maxDeliveriesPerSession),
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

    private const string MessageColumns = "m.id, m.packet, m.expires_at_unix_ms, m.publisher, m.publisher_user_name, LENGTH(m.payload), m.stored_at_unix_ms";

    private const string DeliveryColumns = "client_id, sequence, message_id, qos, retain_flag, released, subscription_identifiers";

    // The first N deliveries of each session. The window function walks the primary key
    // (client_id, sequence) in order.
    private static string DeliveriesWindow(int maxDeliveriesPerSession) => maxDeliveriesPerSession == int.MaxValue
        ? $"SELECT {DeliveryColumns} FROM deliveries"
        : $"SELECT {DeliveryColumns} FROM (SELECT {DeliveryColumns}, ROW_NUMBER() OVER (PARTITION BY client_id ORDER BY sequence) AS position FROM deliveries) w " +
          $"WHERE position <= {maxDeliveriesPerSession.ToString(CultureInfo.InvariantCulture)}";

    private static List<StoredMessage> ReadMessages(MySqlConnection connection, int maxDeliveriesPerSession)
    {
        var messages = new List<StoredMessage>();
        // Beyond the window, a message referred to by one delivery only stays on disk; one shared by
        // several deliveries (or retained) is loaded, so that the broker counts all its references.
        // The ids to load form one derived table (materialized once, deduplicated by UNION), joined
        // to the messages by their primary key.
        string sql = maxDeliveriesPerSession == int.MaxValue
            ? $"SELECT {MessageColumns} FROM messages m ORDER BY m.id"
            : $"SELECT {MessageColumns} FROM messages m JOIN (" +
              $"SELECT message_id FROM ({DeliveriesWindow(maxDeliveriesPerSession)}) windowed " +
              "UNION SELECT message_id FROM retained " +
              "UNION SELECT message_id FROM deliveries GROUP BY message_id HAVING COUNT(*) > 1) k ON k.message_id = m.id ORDER BY m.id";
        using var command = new MySqlCommand(sql, connection);
        using MySqlDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            messages.Add(ReadMessage(reader, 0));
        }
        return messages;
    }

    private static StoredMessage ReadMessage(MySqlDataReader reader, int first)
    {
        bool payloadApart = !reader.IsDBNull(first + 5);
        return new StoredMessage(
            reader.GetInt64(first),
            (byte[])reader.GetValue(first + 1),
            reader.IsDBNull(first + 2) ? null : reader.GetInt64(first + 2),
            Text(reader, first + 3),
            Text(reader, first + 4))
        {
            PayloadApart = payloadApart,
            PayloadLength = payloadApart ? (int)reader.GetInt64(first + 5) : 0,
            StoredAtUnixMs = reader.IsDBNull(first + 6) ? null : reader.GetInt64(first + 6),
        };
    }

    private static StoredDelivery ReadDelivery(MySqlDataReader reader) => new(
        Text(reader, 0)!,
        reader.GetInt64(1),
        reader.GetInt64(2),
        reader.GetByte(3),
        reader.GetByte(4) != 0,
        reader.GetByte(5) != 0,
        reader.IsDBNull(6) ? [] : StoredSubscriptionIdentifiers.Decode((byte[])reader.GetValue(6)));

    private static List<StoredDelivery> ReadDeliveries(MySqlConnection connection, int maxDeliveriesPerSession)
    {
        var deliveries = new List<StoredDelivery>();
        using var command = new MySqlCommand($"{DeliveriesWindow(maxDeliveriesPerSession)} ORDER BY client_id, sequence", connection);
        using MySqlDataReader reader = command.ExecuteReader();
        while (reader.Read())
        {
            deliveries.Add(ReadDelivery(reader));
        }
        return deliveries;
    }

    /// <summary>The query <see cref="ReadQueuedDeliveries"/> runs: @client, @after, @max.</summary>
    public const string QueuedDeliveriesQuery =
        "SELECT d.client_id, d.sequence, d.message_id, d.qos, d.retain_flag, d.released, d.subscription_identifiers, " +
        MessageColumns + " FROM deliveries d LEFT JOIN messages m ON m.id = d.message_id " +
        "WHERE d.client_id = @client AND d.sequence > @after ORDER BY d.sequence LIMIT @max";

    /// <summary>
    /// Runs <see cref="QueuedDeliveriesQuery"/>, prepared on the reader's connection (one statement in
    /// autocommit: InnoDB gives it a snapshot of the last commit, without waiting for the writer).
    /// </summary>
    public static List<StoredQueuedDelivery> ReadQueuedDeliveries(MySqlCommand query, string clientId, long afterSequence, int max)
    {
        var deliveries = new List<StoredQueuedDelivery>(Math.Min(max, 4096));
        query.Parameters[0].Value = Encoding.UTF8.GetBytes(clientId);
        query.Parameters[1].Value = afterSequence;
        query.Parameters[2].Value = max;
        using MySqlDataReader reader = query.ExecuteReader();
        while (reader.Read())
        {
            deliveries.Add(new StoredQueuedDelivery(ReadDelivery(reader), reader.IsDBNull(7) ? null : ReadMessage(reader, 7)));
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

using IoTPE.Broker.Storage;
using IoTPE.Sqlite;

namespace IoTPE.Broker.Storage.Sqlite;

/// <summary>Reads the whole broker state back, after sweeping messages that nothing refers to.</summary>
internal static class BrokerStateReader
{
    /// <summary>
    /// Deletes messages referenced by no delivery and no retained entry. The broker deletes a message
    /// when its last reference goes, but the two writes may land in different batches, so a crash
    /// between them leaves the message behind; nothing could ever deliver it again.
    /// </summary>
    /// <returns>How many messages were deleted.</returns>
    public static long SweepOrphanedMessages(SqliteDatabase database)
    {
        database.Execute("BEGIN IMMEDIATE");
        try
        {
            // NOT IN over a subquery builds one temporary index of the referenced ids, so the sweep is
            // O(n log n) without a permanent index on deliveries.message_id that every insert would pay for.
            database.Execute(
                "DELETE FROM messages WHERE id NOT IN (SELECT message_id FROM deliveries) AND id NOT IN (SELECT message_id FROM retained)");
            long deleted = database.QueryInt64("SELECT changes()") ?? 0;
            database.Execute("COMMIT");
            return deleted;
        }
        catch
        {
            database.TryExecute("ROLLBACK");
            throw;
        }
    }

    /// <summary>
    /// Reads every table, in one read transaction so the parts agree with each other; of each
    /// session's deliveries only the first <paramref name="maxDeliveriesPerSession"/>, and of the
    /// messages only those the broker must hold (see <see cref="IBrokerStore.Load(int)"/>).
    /// </summary>
    public static StoredBrokerState Read(SqliteDatabase database, int maxDeliveriesPerSession)
    {
        database.Execute("BEGIN");
        try
        {
            var state = new StoredBrokerState(
                ReadSessions(database),
                ReadSubscriptions(database),
                ReadMessages(database, maxDeliveriesPerSession),
                ReadDeliveries(database, maxDeliveriesPerSession),
                ReadIncomingPacketIdentifiers(database),
                ReadRetained(database))
            {
                MessageIdsReservedUpTo = database.QueryInt64("SELECT value FROM counters WHERE name = 'message_ids_reserved'") ?? 0,
            };
            database.Execute("COMMIT");
            return state;
        }
        catch
        {
            database.TryExecute("ROLLBACK");
            throw;
        }
    }

    private static List<StoredSession> ReadSessions(SqliteDatabase database)
    {
        var sessions = new List<StoredSession>();
        using SqliteStatement query = database.Prepare(
            "SELECT client_id, protocol_version, expiry_interval_seconds, disconnected_at_unix_ms, user_name FROM sessions ORDER BY client_id");
        while (query.StepRow())
        {
            sessions.Add(new StoredSession(
                query.ReadText(0)!,
                (byte)query.ReadInt64(1),
                (uint)query.ReadInt64(2),
                query.ReadNullableInt64(3),
                query.ReadText(4)));
        }
        return sessions;
    }

    private static List<StoredSubscription> ReadSubscriptions(SqliteDatabase database)
    {
        var subscriptions = new List<StoredSubscription>();
        using SqliteStatement query = database.Prepare(
            "SELECT client_id, topic_filter, options, subscription_identifier FROM subscriptions ORDER BY client_id, topic_filter");
        while (query.StepRow())
        {
            subscriptions.Add(new StoredSubscription(query.ReadText(0)!, query.ReadText(1)!, (byte)query.ReadInt64(2), (uint)query.ReadInt64(3)));
        }
        return subscriptions;
    }

    private const string MessageColumns = "id, packet, expires_at_unix_ms, publisher, publisher_user_name, length(payload), stored_at_unix_ms";

    private const string DeliveryColumns = "client_id, sequence, message_id, qos, retain, released, subscription_identifiers";

    // The first N deliveries of each session. The window function walks the primary key
    // (client_id, sequence) in order, so SQLite need not sort.
    private static string DeliveriesWindow(int maxDeliveriesPerSession) => maxDeliveriesPerSession == int.MaxValue
        ? $"SELECT {DeliveryColumns} FROM deliveries"
        : $"SELECT {DeliveryColumns} FROM (SELECT {DeliveryColumns}, row_number() OVER (PARTITION BY client_id ORDER BY sequence) AS position FROM deliveries) " +
          $"WHERE position <= {maxDeliveriesPerSession.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    private static List<StoredMessage> ReadMessages(SqliteDatabase database, int maxDeliveriesPerSession)
    {
        var messages = new List<StoredMessage>();
        // Beyond the window, a message referred to by one delivery only stays on disk; one shared by
        // several deliveries (or retained) is loaded, so that the broker counts all its references.
        string where = maxDeliveriesPerSession == int.MaxValue
            ? ""
            : $" WHERE id IN (SELECT message_id FROM ({DeliveriesWindow(maxDeliveriesPerSession)})) OR id IN (SELECT message_id FROM retained) " +
              "OR id IN (SELECT message_id FROM deliveries GROUP BY message_id HAVING count(*) > 1)";
        using SqliteStatement query = database.Prepare($"SELECT {MessageColumns} FROM messages{where} ORDER BY id");
        while (query.StepRow())
        {
            messages.Add(ReadMessage(query, 0));
        }
        return messages;
    }

    private static StoredMessage ReadMessage(SqliteStatement query, int first)
    {
        long? payloadLength = query.ReadNullableInt64(first + 5);
        return new StoredMessage(
            query.ReadInt64(first),
            query.ReadBlob(first + 1).ToArray(),
            query.ReadNullableInt64(first + 2),
            query.ReadText(first + 3),
            query.ReadText(first + 4))
        {
            PayloadApart = payloadLength is not null,
            PayloadLength = (int)(payloadLength ?? 0),
            StoredAtUnixMs = query.ReadNullableInt64(first + 6),
        };
    }

    private static StoredDelivery ReadDelivery(SqliteStatement query) => new(
        query.ReadText(0)!,
        query.ReadInt64(1),
        query.ReadInt64(2),
        (byte)query.ReadInt64(3),
        query.ReadInt64(4) != 0,
        query.ReadInt64(5) != 0,
        StoredSubscriptionIdentifiers.Decode(query.ReadBlob(6)));

    private static List<StoredDelivery> ReadDeliveries(SqliteDatabase database, int maxDeliveriesPerSession)
    {
        var deliveries = new List<StoredDelivery>();
        using SqliteStatement query = database.Prepare($"{DeliveriesWindow(maxDeliveriesPerSession)} ORDER BY client_id, sequence");
        while (query.StepRow())
        {
            deliveries.Add(ReadDelivery(query));
        }
        return deliveries;
    }

    /// <summary>The query <see cref="ReadQueuedDeliveries"/> runs: ?1 client, ?2 after sequence, ?3 limit.</summary>
    public const string QueuedDeliveriesQuery =
        "SELECT d.client_id, d.sequence, d.message_id, d.qos, d.retain, d.released, d.subscription_identifiers, " +
        "m.id, m.packet, m.expires_at_unix_ms, m.publisher, m.publisher_user_name, length(m.payload), m.stored_at_unix_ms " +
        "FROM deliveries d LEFT JOIN messages m ON m.id = d.message_id WHERE d.client_id = ?1 AND d.sequence > ?2 ORDER BY d.sequence LIMIT ?3";

    /// <summary>Runs <see cref="QueuedDeliveriesQuery"/>, prepared on the reader's connection (one statement in autocommit: it sees the last commit).</summary>
    public static List<StoredQueuedDelivery> ReadQueuedDeliveries(SqliteStatement query, string clientId, long afterSequence, int max)
    {
        var deliveries = new List<StoredQueuedDelivery>(Math.Min(max, 4096));
        try
        {
            query.BindText(1, clientId);
            query.BindInt64(2, afterSequence);
            query.BindInt64(3, max);
            while (query.StepRow())
            {
                deliveries.Add(new StoredQueuedDelivery(ReadDelivery(query), query.IsNull(7) ? null : ReadMessage(query, 7)));
            }
        }
        finally
        {
            query.Reset();
        }
        return deliveries;
    }

    private static List<StoredIncomingPacketIdentifier> ReadIncomingPacketIdentifiers(SqliteDatabase database)
    {
        var identifiers = new List<StoredIncomingPacketIdentifier>();
        using SqliteStatement query = database.Prepare(
            "SELECT client_id, packet_identifier FROM incoming_packet_identifiers ORDER BY client_id, packet_identifier");
        while (query.StepRow())
        {
            identifiers.Add(new StoredIncomingPacketIdentifier(query.ReadText(0)!, (ushort)query.ReadInt64(1)));
        }
        return identifiers;
    }

    private static List<StoredRetained> ReadRetained(SqliteDatabase database)
    {
        var retained = new List<StoredRetained>();
        using SqliteStatement query = database.Prepare("SELECT topic, message_id FROM retained ORDER BY topic");
        while (query.StepRow())
        {
            retained.Add(new StoredRetained(query.ReadText(0)!, query.ReadInt64(1)));
        }
        return retained;
    }
}

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

    /// <summary>Reads every table, in one read transaction so the parts agree with each other.</summary>
    public static StoredBrokerState Read(SqliteDatabase database)
    {
        database.Execute("BEGIN");
        try
        {
            var state = new StoredBrokerState(
                ReadSessions(database),
                ReadSubscriptions(database),
                ReadMessages(database),
                ReadDeliveries(database),
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

    private static List<StoredMessage> ReadMessages(SqliteDatabase database)
    {
        var messages = new List<StoredMessage>();
        using SqliteStatement query = database.Prepare(
            "SELECT id, packet, expires_at_unix_ms, publisher, publisher_user_name, length(payload), stored_at_unix_ms FROM messages ORDER BY id");
        while (query.StepRow())
        {
            long? payloadLength = query.ReadNullableInt64(5);
            messages.Add(new StoredMessage(
                query.ReadInt64(0),
                query.ReadBlob(1).ToArray(),
                query.ReadNullableInt64(2),
                query.ReadText(3),
                query.ReadText(4))
            {
                PayloadApart = payloadLength is not null,
                PayloadLength = (int)(payloadLength ?? 0),
                StoredAtUnixMs = query.ReadNullableInt64(6),
            });
        }
        return messages;
    }

    private static List<StoredDelivery> ReadDeliveries(SqliteDatabase database)
    {
        var deliveries = new List<StoredDelivery>();
        using SqliteStatement query = database.Prepare(
            "SELECT client_id, sequence, message_id, qos, retain, released, subscription_identifiers FROM deliveries ORDER BY client_id, sequence");
        while (query.StepRow())
        {
            deliveries.Add(new StoredDelivery(
                query.ReadText(0)!,
                query.ReadInt64(1),
                query.ReadInt64(2),
                (byte)query.ReadInt64(3),
                query.ReadInt64(4) != 0,
                query.ReadInt64(5) != 0,
                SubscriptionIdentifierList.Read(query.ReadBlob(6))));
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

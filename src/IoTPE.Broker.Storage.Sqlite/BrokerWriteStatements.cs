using IoTPE.Broker.Storage;
using IoTPE.Sqlite;
using SQLitePCL;

namespace IoTPE.Broker.Storage.Sqlite;

/// <summary>
/// The prepared statements that apply each <see cref="StoreOperation"/> to the broker tables, and the
/// mapping from operation to statement. Used only by the writer thread.
/// </summary>
/// <remarks>
/// "Create or replace" calls are upserts; adding an incoming packet identifier is idempotent because
/// a client resends an unreleased QoS 2 PUBLISH with DUP after reconnecting. Inserting a message or a
/// delivery is a plain INSERT: a duplicate key is a broker bug, and failing the write makes it visible.
/// </remarks>
internal sealed class BrokerWriteStatements
{
    private readonly SqliteStatement _saveSession;
    private readonly SqliteStatement _deleteSession;
    private readonly SqliteStatement _deleteSessionSubscriptions;
    private readonly SqliteStatement _deleteSessionDeliveries;
    private readonly SqliteStatement _deleteSessionIncoming;
    private readonly SqliteStatement _saveSubscription;
    private readonly SqliteStatement _deleteSubscription;
    private readonly SqliteStatement _insertMessage;
    private readonly SqliteStatement _deleteMessage;
    private readonly SqliteStatement _insertDelivery;
    private readonly SqliteStatement _markDeliveryReleased;
    private readonly SqliteStatement _deleteDelivery;
    private readonly SqliteStatement _deleteMessagesOnlyAfter;
    private readonly SqliteStatement _deleteDeliveriesAfter;
    private readonly SqliteStatement _addIncoming;
    private readonly SqliteStatement _removeIncoming;
    private readonly SqliteStatement _setRetained;
    private readonly SqliteStatement _clearRetained;
    private readonly SqliteStatement _reserveMessageIds;

    /// <summary>Prepares every statement on <paramref name="database"/>.</summary>
    public BrokerWriteStatements(SqliteDatabase database)
    {
        _saveSession = database.Prepare(
            "INSERT INTO sessions (client_id, protocol_version, expiry_interval_seconds, disconnected_at_unix_ms, user_name) VALUES (?1, ?2, ?3, ?4, ?5) " +
            "ON CONFLICT (client_id) DO UPDATE SET protocol_version = excluded.protocol_version, expiry_interval_seconds = excluded.expiry_interval_seconds, " +
            "disconnected_at_unix_ms = excluded.disconnected_at_unix_ms, user_name = excluded.user_name");
        _deleteSession = database.Prepare("DELETE FROM sessions WHERE client_id = ?1");
        _deleteSessionSubscriptions = database.Prepare("DELETE FROM subscriptions WHERE client_id = ?1");
        _deleteSessionDeliveries = database.Prepare("DELETE FROM deliveries WHERE client_id = ?1");
        _deleteSessionIncoming = database.Prepare("DELETE FROM incoming_packet_identifiers WHERE client_id = ?1");
        _saveSubscription = database.Prepare(
            "INSERT INTO subscriptions (client_id, topic_filter, options, subscription_identifier) VALUES (?1, ?2, ?3, ?4) " +
            "ON CONFLICT (client_id, topic_filter) DO UPDATE SET options = excluded.options, subscription_identifier = excluded.subscription_identifier");
        _deleteSubscription = database.Prepare("DELETE FROM subscriptions WHERE client_id = ?1 AND topic_filter = ?2");
        _insertMessage = database.Prepare(
            "INSERT INTO messages (id, packet, expires_at_unix_ms, publisher, publisher_user_name, payload, stored_at_unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        _deleteMessage = database.Prepare("DELETE FROM messages WHERE id = ?1");
        _insertDelivery = database.Prepare(
            "INSERT INTO deliveries (client_id, sequence, message_id, qos, retain, released, subscription_identifiers) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        _markDeliveryReleased = database.Prepare("UPDATE deliveries SET released = 1 WHERE client_id = ?1 AND sequence = ?2");
        _deleteDelivery = database.Prepare("DELETE FROM deliveries WHERE client_id = ?1 AND sequence = ?2");
        // NOT IN over a subquery builds one temporary index of the ids still referenced (as the
        // orphan sweep does): one pass over the deliveries, paid only when a session with a queue
        // tail on disk ends, instead of an index on deliveries.message_id that every insert would pay for.
        _deleteMessagesOnlyAfter = database.Prepare(
            "DELETE FROM messages WHERE id IN (SELECT message_id FROM deliveries WHERE client_id = ?1 AND sequence > ?2) " +
            "AND id NOT IN (SELECT message_id FROM deliveries WHERE client_id <> ?1 OR sequence <= ?2) " +
            "AND id NOT IN (SELECT message_id FROM retained)");
        _deleteDeliveriesAfter = database.Prepare("DELETE FROM deliveries WHERE client_id = ?1 AND sequence > ?2");
        _addIncoming = database.Prepare("INSERT OR IGNORE INTO incoming_packet_identifiers (client_id, packet_identifier) VALUES (?1, ?2)");
        _removeIncoming = database.Prepare("DELETE FROM incoming_packet_identifiers WHERE client_id = ?1 AND packet_identifier = ?2");
        _setRetained = database.Prepare(
            "INSERT INTO retained (topic, message_id) VALUES (?1, ?2) ON CONFLICT (topic) DO UPDATE SET message_id = excluded.message_id");
        _clearRetained = database.Prepare("DELETE FROM retained WHERE topic = ?1");
        _reserveMessageIds = database.Prepare(
            "INSERT INTO counters (name, value) VALUES ('message_ids_reserved', ?1) ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)");
    }

    /// <summary>Applies one write; returns SQLITE_OK or SQLite's (extended) error code.</summary>
    public int Apply(in StoreOperation operation) => operation.Kind switch
    {
        StoreOperationKind.SaveSession => SaveSession((StoredSession)operation.Reference!),
        StoreOperationKind.DeleteSession => DeleteSession(operation.Text!),
        StoreOperationKind.SaveSubscription => SaveSubscription((StoredSubscription)operation.Reference!),
        StoreOperationKind.DeleteSubscription => ExecuteByTexts(_deleteSubscription, operation.Text!, (string)operation.Reference!),
        StoreOperationKind.InsertMessage => InsertMessage((StoredMessage)operation.Reference!),
        StoreOperationKind.DeleteMessage => ExecuteByNumber(_deleteMessage, operation.Number),
        StoreOperationKind.InsertDelivery => InsertDelivery((StoredDelivery)operation.Reference!),
        StoreOperationKind.MarkDeliveryReleased => ExecuteByTextAndNumber(_markDeliveryReleased, operation.Text!, operation.Number),
        StoreOperationKind.DeleteDelivery => ExecuteByTextAndNumber(_deleteDelivery, operation.Text!, operation.Number),
        StoreOperationKind.DeleteDeliveriesAfter => DeleteDeliveriesAfter(operation.Text!, operation.Number),
        StoreOperationKind.AddIncomingPacketIdentifier => ExecuteByTextAndNumber(_addIncoming, operation.Text!, operation.Number),
        StoreOperationKind.RemoveIncomingPacketIdentifier => ExecuteByTextAndNumber(_removeIncoming, operation.Text!, operation.Number),
        StoreOperationKind.SetRetained => ExecuteByTextAndNumber(_setRetained, operation.Text!, operation.Number),
        StoreOperationKind.ClearRetained => ExecuteByText(_clearRetained, operation.Text!),
        StoreOperationKind.ReserveMessageIds => ExecuteByNumber(_reserveMessageIds, operation.Number),
        _ => throw new InvalidOperationException($"{operation.Kind} is not a write."),
    };

    private int SaveSession(StoredSession session)
    {
        _saveSession.BindText(1, session.ClientId);
        _saveSession.BindInt64(2, session.ProtocolVersion);
        _saveSession.BindInt64(3, session.ExpiryIntervalSeconds);
        _saveSession.BindInt64(4, session.DisconnectedAtUnixMs);
        _saveSession.BindText(5, session.UserName);
        return _saveSession.Execute();
    }

    private int DeleteSession(string clientId)
    {
        int rc = ExecuteByText(_deleteSessionSubscriptions, clientId);
        if (rc == raw.SQLITE_OK)
        {
            rc = ExecuteByText(_deleteSessionDeliveries, clientId);
        }
        if (rc == raw.SQLITE_OK)
        {
            rc = ExecuteByText(_deleteSessionIncoming, clientId);
        }
        if (rc == raw.SQLITE_OK)
        {
            rc = ExecuteByText(_deleteSession, clientId);
        }
        return rc;
    }

    private int DeleteDeliveriesAfter(string clientId, long afterSequence)
    {
        int rc = ExecuteByTextAndNumber(_deleteMessagesOnlyAfter, clientId, afterSequence);
        return rc == raw.SQLITE_OK ? ExecuteByTextAndNumber(_deleteDeliveriesAfter, clientId, afterSequence) : rc;
    }

    private int SaveSubscription(StoredSubscription subscription)
    {
        _saveSubscription.BindText(1, subscription.ClientId);
        _saveSubscription.BindText(2, subscription.TopicFilter);
        _saveSubscription.BindInt64(3, subscription.Options);
        _saveSubscription.BindInt64(4, subscription.SubscriptionIdentifier);
        return _saveSubscription.Execute();
    }

    private int InsertMessage(StoredMessage message)
    {
        _insertMessage.BindInt64(1, message.Id);
        _insertMessage.BindBlob(2, message.Packet);
        _insertMessage.BindInt64(3, message.ExpiresAtUnixMs);
        _insertMessage.BindText(4, message.Publisher);
        _insertMessage.BindText(5, message.PublisherUserName);
        if (message.PayloadApart)
        {
            _insertMessage.BindBlob(6, message.Payload.Span);
        }
        else
        {
            _insertMessage.BindNull(6);
        }
        _insertMessage.BindInt64(7, message.StoredAtUnixMs);
        return _insertMessage.Execute();
    }

    private int InsertDelivery(StoredDelivery delivery)
    {
        _insertDelivery.BindText(1, delivery.ClientId);
        _insertDelivery.BindInt64(2, delivery.Sequence);
        _insertDelivery.BindInt64(3, delivery.MessageId);
        _insertDelivery.BindInt64(4, delivery.QoS);
        _insertDelivery.BindInt64(5, delivery.Retain ? 1 : 0);
        _insertDelivery.BindInt64(6, delivery.Released ? 1 : 0);
        SubscriptionIdentifierList.Bind(_insertDelivery, 7, delivery.SubscriptionIdentifiers);
        return _insertDelivery.Execute();
    }

    private static int ExecuteByText(SqliteStatement statement, string text)
    {
        statement.BindText(1, text);
        return statement.Execute();
    }

    private static int ExecuteByTexts(SqliteStatement statement, string first, string second)
    {
        statement.BindText(1, first);
        statement.BindText(2, second);
        return statement.Execute();
    }

    private static int ExecuteByNumber(SqliteStatement statement, long number)
    {
        statement.BindInt64(1, number);
        return statement.Execute();
    }

    private static int ExecuteByTextAndNumber(SqliteStatement statement, string text, long number)
    {
        statement.BindText(1, text);
        statement.BindInt64(2, number);
        return statement.Execute();
    }
}

using System.Text;
using MySqlConnector;

namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// One kind of row-level write on one table, written so that many of them form one statement: a
/// multi-row <c>INSERT ... VALUES (...), (...)</c>, a <c>DELETE ... WHERE id IN (...)</c>, or for
/// composite keys a disjunction of key equalities (which the range optimizer turns into one index
/// range per row). <see cref="DeleteSession"/> becomes one by-client write per table it touches.
/// </summary>
/// <remarks>
/// The deletes of the hot path (<see cref="DeleteMessage"/>, <see cref="DeleteDelivery"/>,
/// <see cref="RemoveIncomingPacketIdentifier"/>) join their keys, given as a derived table, to the
/// table by its primary key (<c>STRAIGHT_JOIN</c> keeps that order). As an IN list they made the
/// optimizer scan the table whenever the list was a large part of its rows, which under load it
/// always is (a batch deletes about half of what is in flight), and the scan also walks the rows
/// deleted but not yet purged: 43 % of the central's MariaDB CPU at 5,000 runs/s. An index hint
/// would say the same in fewer bytes, but a single-table <c>DELETE</c> takes none before MariaDB
/// 11.8, and the multi-table form ignores it; <see cref="MarkDeliveryReleased"/>, an <c>UPDATE</c>,
/// uses one (<c>FORCE INDEX</c>).
/// </remarks>
internal sealed class WriteShape
{
    private WriteShape(BrokerTable table, int order, string head, string row, string separator, string tail, int parametersPerRow,
        Action<StoreOperation, MySqlParameterCollection, int> bind, Func<StoreOperation, (string?, long)> key, bool byClient = false,
        bool sharesClient = false)
    {
        SharesClient = sharesClient;
        Table = table;
        Order = order;
        Head = head;
        Row = row;
        Separator = separator;
        Tail = tail;
        ParametersPerRow = parametersPerRow;
        Bind = bind;
        Key = key;
        ByClient = byClient;
    }

    /// <summary>The table written.</summary>
    public BrokerTable Table { get; }

    /// <summary>Position of the shape among its table's shapes, for grouping a batch's writes by shape.</summary>
    public int Order { get; }

    /// <summary>The statement text up to the first row.</summary>
    public string Head { get; }

    /// <summary>One row's text, with <see cref="ParametersPerRow"/> <c>?</c> placeholders.</summary>
    public string Row { get; }

    /// <summary>What goes between two rows.</summary>
    public string Separator { get; }

    /// <summary>The statement text after the last row.</summary>
    public string Tail { get; }

    /// <summary>Placeholders per row.</summary>
    public int ParametersPerRow { get; }

    /// <summary>Writes an operation's values into the parameters starting at the given index.</summary>
    public Action<StoreOperation, MySqlParameterCollection, int> Bind { get; }

    /// <summary>The row key the operation touches (for deciding whether a batch's writes to a table commute).</summary>
    public Func<StoreOperation, (string?, long)> Key { get; }

    /// <summary>True for a write of every row of one client (a session deleted): it commutes with nothing of that client.</summary>
    public bool ByClient { get; }

    /// <summary>
    /// True for a write keyed by (client, number) whose rows share one client (<c>client_id = ? AND
    /// number IN (...)</c>, or a derived table of the numbers joined to a one-row derived table of the
    /// client): the statement's first parameter is that client, and each row binds its number
    /// only (<see cref="Bind"/> writes that number; <see cref="BindClient"/> the shared client).
    /// </summary>
    /// <remarks>
    /// A disjunction of key equalities, <c>(client_id = ? AND sequence = ?) OR ...</c>, cost the
    /// server about 30 µs a row to plan and run (most of the writer's time under load: 61% in the
    /// profile of 100,000 QoS 1 messages); an IN list on one client is one index range per row
    /// found by binary search.
    /// </remarks>
    public bool SharesClient { get; }

    /// <summary>Parameters of a statement of <paramref name="rows"/> rows.</summary>
    public int ParameterCount(int rows) => rows * ParametersPerRow + (SharesClient ? 1 : 0);

    /// <summary>For a <see cref="SharesClient"/> shape: binds the statement's client (its first parameter).</summary>
    public static void BindClient(in StoreOperation operation, MySqlParameterCollection parameters) =>
        parameters[0].Value = ClientValue(operation);

    /// <summary>The value of a <see cref="SharesClient"/> statement's client parameter.</summary>
    public static object ClientValue(in StoreOperation operation) => Bytes(operation.Text);

    /// <summary>The statement text for <paramref name="rows"/> rows.</summary>
    public string Sql(int rows)
    {
        var text = new StringBuilder(Head.Length + Tail.Length + rows * (Row.Length + Separator.Length));
        text.Append(Head);
        for (int i = 0; i < rows; i++)
        {
            if (i > 0)
            {
                text.Append(Separator);
            }
            text.Append(Row);
        }
        return text.Append(Tail).ToString();
    }

    /// <summary>An upper bound of the bytes one operation's row sends (values and their share of the statement).</summary>
    public static long SizeOf(in StoreOperation operation) => 64 + operation.Kind switch
    {
        StoreOperationKind.InsertMessage when operation.Reference is StoredMessage m =>
            (long)m.Packet.Length + m.Payload.Length + Utf8Length(m.Publisher) + Utf8Length(m.PublisherUserName),
        StoreOperationKind.SaveSession when operation.Reference is StoredSession s => Utf8Length(s.ClientId) + Utf8Length(s.UserName),
        StoreOperationKind.SaveSubscription when operation.Reference is StoredSubscription s => Utf8Length(s.ClientId) + Utf8Length(s.TopicFilter),
        StoreOperationKind.InsertDelivery when operation.Reference is StoredDelivery d => Utf8Length(d.ClientId) + d.SubscriptionIdentifiers.Length * 4,
        StoreOperationKind.DeleteSubscription => Utf8Length(operation.Text) + Utf8Length(operation.Reference as string),
        _ => Utf8Length(operation.Text),
    };

    private static long Utf8Length(string? text) => text is null ? 0 : text.Length * 3L;

    /// <summary>UTF-8 bytes for a key column (VARBINARY), or DBNull for null (which the NOT NULL column refuses).</summary>
    private static object Bytes(string? text) => text is null ? DBNull.Value : Encoding.UTF8.GetBytes(text);

    private static object Nullable(long? value) => value is { } v ? v : DBNull.Value;

    private static (string?, long) NoKey(StoreOperation operation) => (null, 0);

    public static readonly WriteShape SaveSession = new(BrokerTable.Sessions, 0,
        "INSERT INTO sessions (client_id, protocol_version, expiry_interval_seconds, disconnected_at_unix_ms, user_name) VALUES ",
        "(?, ?, ?, ?, ?)", ", ",
        " ON DUPLICATE KEY UPDATE protocol_version = VALUES(protocol_version), expiry_interval_seconds = VALUES(expiry_interval_seconds), " +
        "disconnected_at_unix_ms = VALUES(disconnected_at_unix_ms), user_name = VALUES(user_name)",
        5,
        (operation, parameters, at) =>
        {
            var session = (StoredSession)operation.Reference!;
            parameters[at].Value = Bytes(session.ClientId);
            parameters[at + 1].Value = session.ProtocolVersion;
            parameters[at + 2].Value = session.ExpiryIntervalSeconds;
            parameters[at + 3].Value = Nullable(session.DisconnectedAtUnixMs);
            parameters[at + 4].Value = Bytes(session.UserName);
        },
        operation => (((StoredSession)operation.Reference!).ClientId, 0));

    public static readonly WriteShape DeleteSession = new(BrokerTable.Sessions, 1,
        "DELETE FROM sessions WHERE client_id IN (", "?", ", ", ")", 1,
        (operation, parameters, at) => parameters[at].Value = Bytes(operation.Text),
        operation => (operation.Text, 0));

    public static readonly WriteShape SaveSubscription = new(BrokerTable.Subscriptions, 0,
        "INSERT INTO subscriptions (client_id, topic_filter, options, subscription_identifier) VALUES ",
        "(?, ?, ?, ?)", ", ",
        " ON DUPLICATE KEY UPDATE options = VALUES(options), subscription_identifier = VALUES(subscription_identifier)",
        4,
        (operation, parameters, at) =>
        {
            var subscription = (StoredSubscription)operation.Reference!;
            parameters[at].Value = Bytes(subscription.ClientId);
            parameters[at + 1].Value = Bytes(subscription.TopicFilter);
            parameters[at + 2].Value = subscription.Options;
            parameters[at + 3].Value = subscription.SubscriptionIdentifier;
        },
        operation => (((StoredSubscription)operation.Reference!).ClientId + "\0" + ((StoredSubscription)operation.Reference!).TopicFilter, 0));

    public static readonly WriteShape DeleteSubscription = new(BrokerTable.Subscriptions, 1,
        "DELETE FROM subscriptions WHERE ", "(client_id = ? AND topic_filter = ?)", " OR ", "", 2,
        (operation, parameters, at) =>
        {
            parameters[at].Value = Bytes(operation.Text);
            parameters[at + 1].Value = Bytes((string?)operation.Reference);
        },
        operation => (operation.Text + "\0" + (string?)operation.Reference, 0));

    public static readonly WriteShape DeleteSessionSubscriptions = new(BrokerTable.Subscriptions, 2,
        "DELETE FROM subscriptions WHERE client_id IN (", "?", ", ", ")", 1,
        (operation, parameters, at) => parameters[at].Value = Bytes(operation.Text),
        NoKey, byClient: true);

    public static readonly WriteShape InsertMessage = new(BrokerTable.Messages, 0,
        "INSERT INTO messages (id, packet, expires_at_unix_ms, publisher, publisher_user_name, payload, stored_at_unix_ms) VALUES ",
        "(?, ?, ?, ?, ?, ?, ?)", ", ", "", 7,
        (operation, parameters, at) =>
        {
            var message = (StoredMessage)operation.Reference!;
            parameters[at].Value = message.Id;
            parameters[at + 1].Value = message.Packet;
            parameters[at + 2].Value = Nullable(message.ExpiresAtUnixMs);
            parameters[at + 3].Value = Bytes(message.Publisher);
            parameters[at + 4].Value = Bytes(message.PublisherUserName);
            // A ReadOnlyMemory over a whole array is the broker's own payload array (payloads are
            // immutable): pass it without a copy.
            parameters[at + 5].Value = !message.PayloadApart ? DBNull.Value : message.Payload;
            parameters[at + 6].Value = Nullable(message.StoredAtUnixMs);
        },
        operation => (null, ((StoredMessage)operation.Reference!).Id));

    public static readonly WriteShape DeleteMessage = new(BrokerTable.Messages, 1,
        "DELETE m FROM (", "SELECT ? AS id", " UNION ALL ", ") AS doomed STRAIGHT_JOIN messages AS m ON m.id = doomed.id", 1,
        (operation, parameters, at) => parameters[at].Value = operation.Number,
        operation => (null, operation.Number));

    public static readonly WriteShape InsertDelivery = new(BrokerTable.Deliveries, 0,
        "INSERT INTO deliveries (client_id, sequence, message_id, qos, retain_flag, released, subscription_identifiers) VALUES ",
        "(?, ?, ?, ?, ?, ?, ?)", ", ", "", 7,
        (operation, parameters, at) =>
        {
            var delivery = (StoredDelivery)operation.Reference!;
            parameters[at].Value = Bytes(delivery.ClientId);
            parameters[at + 1].Value = delivery.Sequence;
            parameters[at + 2].Value = delivery.MessageId;
            parameters[at + 3].Value = delivery.QoS;
            parameters[at + 4].Value = delivery.Retain ? (byte)1 : (byte)0;
            parameters[at + 5].Value = delivery.Released ? (byte)1 : (byte)0;
            parameters[at + 6].Value = (object?)StoredSubscriptionIdentifiers.Encode(delivery.SubscriptionIdentifiers) ?? DBNull.Value;
        },
        operation => (((StoredDelivery)operation.Reference!).ClientId, ((StoredDelivery)operation.Reference!).Sequence));

    public static readonly WriteShape MarkDeliveryReleased = new(BrokerTable.Deliveries, 1,
        "UPDATE deliveries FORCE INDEX (PRIMARY) SET released = 1 WHERE client_id = ? AND sequence IN (", "?", ", ", ")", 1,
        BindNumberAfterClient, TextAndNumber, sharesClient: true);

    public static readonly WriteShape DeleteDelivery = new(BrokerTable.Deliveries, 2,
        "DELETE d FROM (SELECT ? AS client_id) AS owner STRAIGHT_JOIN (", "SELECT ? AS sequence", " UNION ALL ",
        ") AS doomed STRAIGHT_JOIN deliveries AS d ON d.client_id = owner.client_id AND d.sequence = doomed.sequence", 1,
        BindNumberAfterClient, TextAndNumber, sharesClient: true);

    // A session's queue tail that only the store holds (IBrokerStore.DeleteDeliveriesAfter): first the
    // messages only the tail refers to, then the tail. The ids still referenced are derived tables,
    // materialized once with a key (one pass over the deliveries), not NOT IN subqueries, which a
    // DELETE would run once per message. One row per statement: BatchStatements applies it alone.
    public static readonly WriteShape DeleteMessagesOnlyAfter = new(BrokerTable.Messages, 2,
        "DELETE m FROM messages m " +
        "JOIN (SELECT DISTINCT message_id FROM deliveries WHERE client_id = ? AND sequence > ?) tail ON tail.message_id = m.id " +
        "LEFT JOIN (SELECT DISTINCT message_id FROM deliveries WHERE client_id <> ? OR sequence <= ?) other ON other.message_id = m.id " +
        "LEFT JOIN (SELECT DISTINCT message_id FROM retained) r ON r.message_id = m.id " +
        "WHERE other.message_id IS NULL AND r.message_id IS NULL", "", "", "", 4,
        (operation, parameters, at) =>
        {
            parameters[at].Value = Bytes(operation.Text);
            parameters[at + 1].Value = operation.Number;
            parameters[at + 2].Value = Bytes(operation.Text);
            parameters[at + 3].Value = operation.Number;
        },
        NoKey, byClient: true);

    public static readonly WriteShape DeleteDeliveriesAfter = new(BrokerTable.Deliveries, 4,
        "DELETE FROM deliveries WHERE client_id = ? AND sequence > ?", "", "", "", 2,
        BindTextAndNumber, NoKey, byClient: true);

    public static readonly WriteShape DeleteSessionDeliveries = new(BrokerTable.Deliveries, 3,
        "DELETE FROM deliveries WHERE client_id IN (", "?", ", ", ")", 1,
        (operation, parameters, at) => parameters[at].Value = Bytes(operation.Text),
        NoKey, byClient: true);

    // Idempotent: a client resends an unreleased QoS 2 PUBLISH with DUP after reconnecting.
    public static readonly WriteShape AddIncomingPacketIdentifier = new(BrokerTable.IncomingPacketIdentifiers, 0,
        "INSERT INTO incoming_packet_identifiers (client_id, packet_identifier) VALUES ", "(?, ?)", ", ",
        " ON DUPLICATE KEY UPDATE packet_identifier = packet_identifier", 2,
        BindTextAndNumber, TextAndNumber);

    public static readonly WriteShape RemoveIncomingPacketIdentifier = new(BrokerTable.IncomingPacketIdentifiers, 1,
        "DELETE i FROM (SELECT ? AS client_id) AS owner STRAIGHT_JOIN (", "SELECT ? AS packet_identifier", " UNION ALL ",
        ") AS doomed STRAIGHT_JOIN incoming_packet_identifiers AS i ON i.client_id = owner.client_id AND i.packet_identifier = doomed.packet_identifier", 1,
        BindNumberAfterClient, TextAndNumber, sharesClient: true);

    public static readonly WriteShape DeleteSessionIncoming = new(BrokerTable.IncomingPacketIdentifiers, 2,
        "DELETE FROM incoming_packet_identifiers WHERE client_id IN (", "?", ", ", ")", 1,
        (operation, parameters, at) => parameters[at].Value = Bytes(operation.Text),
        NoKey, byClient: true);

    public static readonly WriteShape SetRetained = new(BrokerTable.Retained, 0,
        "INSERT INTO retained (topic, message_id) VALUES ", "(?, ?)", ", ", " ON DUPLICATE KEY UPDATE message_id = VALUES(message_id)", 2,
        BindTextAndNumber, operation => (operation.Text, 0));

    public static readonly WriteShape ClearRetained = new(BrokerTable.Retained, 1,
        "DELETE FROM retained WHERE topic IN (", "?", ", ", ")", 1,
        (operation, parameters, at) => parameters[at].Value = Bytes(operation.Text),
        operation => (operation.Text, 0));

    // GREATEST: the reservation never goes back, whatever order reservations commit in.
    public static readonly WriteShape ReserveMessageIds = new(BrokerTable.Counters, 0,
        "INSERT INTO counters (name, value) VALUES ", "('message_ids_reserved', ?)", ", ",
        " ON DUPLICATE KEY UPDATE value = GREATEST(value, VALUES(value))", 1,
        (operation, parameters, at) => parameters[at].Value = operation.Number,
        NoKey);

    private static void BindTextAndNumber(StoreOperation operation, MySqlParameterCollection parameters, int at)
    {
        parameters[at].Value = Bytes(operation.Text);
        parameters[at + 1].Value = operation.Number;
    }

    // Row at of a SharesClient statement: parameter 0 is the client, so row i's number is parameter i + 1.
    private static void BindNumberAfterClient(StoreOperation operation, MySqlParameterCollection parameters, int at) =>
        parameters[at + 1].Value = operation.Number;

    private static (string?, long) TextAndNumber(StoreOperation operation) => (operation.Text, operation.Number);
}

namespace IoTPE.Broker.Storage;

/// <summary>
/// The write side of an <see cref="IBrokerStore"/> whose single writer applies the calls later, in
/// order and many at a time (group commit): each write method checks its arguments and records the
/// call as one <see cref="StoreOperation"/> for <see cref="Enqueue"/>. A store adapter derives from
/// it, lists <see cref="IBrokerStore"/> among its interfaces and adds the reads, the writer and disposal.
/// </summary>
/// <remarks>
/// The records passed are kept by reference and read later on the writer's thread: the caller must
/// not change them after passing them. Which <see cref="StoreOperation"/> field holds which argument
/// is documented on each <see cref="StoreOperationKind"/> member.
/// </remarks>
public abstract class QueuedWritesBrokerStore
{
    /// <summary>Queues <paramref name="operation"/> for the writer, after everything queued before it.</summary>
    /// <exception cref="ObjectDisposedException">The store is being disposed.</exception>
    protected abstract void Enqueue(in StoreOperation operation);

    /// <inheritdoc cref="IBrokerStore.SaveSession"/>
    public void SaveSession(StoredSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        Enqueue(new StoreOperation(StoreOperationKind.SaveSession, session, null, 0));
    }

    /// <inheritdoc cref="IBrokerStore.DeleteSession"/>
    public void DeleteSession(string clientId)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        Enqueue(new StoreOperation(StoreOperationKind.DeleteSession, null, clientId, 0));
    }

    /// <inheritdoc cref="IBrokerStore.SaveSubscription"/>
    public void SaveSubscription(StoredSubscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        Enqueue(new StoreOperation(StoreOperationKind.SaveSubscription, subscription, null, 0));
    }

    /// <inheritdoc cref="IBrokerStore.DeleteSubscription"/>
    public void DeleteSubscription(string clientId, string topicFilter)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        ArgumentNullException.ThrowIfNull(topicFilter);
        Enqueue(new StoreOperation(StoreOperationKind.DeleteSubscription, topicFilter, clientId, 0));
    }

    /// <inheritdoc cref="IBrokerStore.InsertMessage"/>
    public void InsertMessage(StoredMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(message.Packet);
        Enqueue(new StoreOperation(StoreOperationKind.InsertMessage, message, null, 0));
    }

    /// <inheritdoc cref="IBrokerStore.DeleteMessage"/>
    public void DeleteMessage(long messageId) =>
        Enqueue(new StoreOperation(StoreOperationKind.DeleteMessage, null, null, messageId));

    /// <inheritdoc cref="IBrokerStore.InsertDelivery"/>
    public void InsertDelivery(StoredDelivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentNullException.ThrowIfNull(delivery.SubscriptionIdentifiers);
        Enqueue(new StoreOperation(StoreOperationKind.InsertDelivery, delivery, null, 0));
    }

    /// <inheritdoc cref="IBrokerStore.MarkDeliveryReleased"/>
    public void MarkDeliveryReleased(string clientId, long sequence)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        Enqueue(new StoreOperation(StoreOperationKind.MarkDeliveryReleased, null, clientId, sequence));
    }

    /// <inheritdoc cref="IBrokerStore.DeleteDelivery"/>
    public void DeleteDelivery(string clientId, long sequence)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        Enqueue(new StoreOperation(StoreOperationKind.DeleteDelivery, null, clientId, sequence));
    }

    /// <inheritdoc cref="IBrokerStore.DeleteDeliveriesAfter"/>
    public void DeleteDeliveriesAfter(string clientId, long afterSequence)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        Enqueue(new StoreOperation(StoreOperationKind.DeleteDeliveriesAfter, null, clientId, afterSequence));
    }

    /// <inheritdoc cref="IBrokerStore.AddIncomingPacketIdentifier"/>
    public void AddIncomingPacketIdentifier(string clientId, ushort packetIdentifier)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        Enqueue(new StoreOperation(StoreOperationKind.AddIncomingPacketIdentifier, null, clientId, packetIdentifier));
    }

    /// <inheritdoc cref="IBrokerStore.RemoveIncomingPacketIdentifier"/>
    public void RemoveIncomingPacketIdentifier(string clientId, ushort packetIdentifier)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        Enqueue(new StoreOperation(StoreOperationKind.RemoveIncomingPacketIdentifier, null, clientId, packetIdentifier));
    }

    /// <inheritdoc cref="IBrokerStore.SetRetained"/>
    public void SetRetained(string topic, long messageId)
    {
        ArgumentNullException.ThrowIfNull(topic);
        Enqueue(new StoreOperation(StoreOperationKind.SetRetained, null, topic, messageId));
    }

    /// <inheritdoc cref="IBrokerStore.ReserveMessageIds"/>
    public void ReserveMessageIds(long upTo) =>
        Enqueue(new StoreOperation(StoreOperationKind.ReserveMessageIds, null, null, upTo));

    /// <inheritdoc cref="IBrokerStore.ClearRetained"/>
    public void ClearRetained(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        Enqueue(new StoreOperation(StoreOperationKind.ClearRetained, null, topic, 0));
    }

    /// <inheritdoc cref="IBrokerStore.WhenDurable"/>
    /// <remarks>
    /// The callback covers the writes enqueued since the previous <see cref="WhenDurable"/> call: it
    /// is told <see langword="true"/> when all of them committed, <see langword="false"/> when any
    /// failed (the adapter's documentation says when). A callback with no write before it is still
    /// run in order, after the earlier batches.
    /// </remarks>
    public void WhenDurable(Action<bool> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Enqueue(new StoreOperation(StoreOperationKind.WhenDurable, callback, null, 0));
    }

    /// <inheritdoc cref="IBrokerStore.WhenDurableOrSettled"/>
    /// <remarks>Recorded as a <see cref="StoreOperationKind.WhenDurable"/> whose Number is <see cref="SettlingCallback"/>.</remarks>
    public void WhenDurableOrSettled(Action<bool> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Enqueue(new StoreOperation(StoreOperationKind.WhenDurable, callback, null, SettlingCallback));
    }

    /// <summary>The Number of a <see cref="StoreOperationKind.WhenDurable"/> recorded by <see cref="WhenDurableOrSettled"/>.</summary>
    public const long SettlingCallback = 1;
}

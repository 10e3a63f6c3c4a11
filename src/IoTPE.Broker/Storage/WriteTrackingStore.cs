namespace IoTPE.Broker.Storage;

/// <summary>
/// The broker's view of its store: passes everything through and remembers whether anything was
/// written since the last <see cref="WhenDurable"/>, so that a pass that wrote nothing can
/// acknowledge at once instead of waiting for a commit that has nothing to commit.
/// </summary>
internal sealed class WriteTrackingStore(IBrokerStore inner) : IBrokerStore
{
    /// <summary>Something was written since the last durability request. (The broker calls the store only under its lock, so a plain flag is enough.)</summary>
    public bool HasUnrequestedWrites { get; private set; }

    public long StoredBytes => inner.StoredBytes;

    public byte[]? ReadPayload(long messageId) => inner.ReadPayload(messageId);

    public StoredBrokerState Load(int maxDeliveriesPerSession) => inner.Load(maxDeliveriesPerSession);

    public IReadOnlyList<StoredQueuedDelivery> ReadDeliveries(string clientId, long afterSequence, int max) => inner.ReadDeliveries(clientId, afterSequence, max);

    public void DeleteDeliveriesAfter(string clientId, long afterSequence)
    {
        HasUnrequestedWrites = true;
        inner.DeleteDeliveriesAfter(clientId, afterSequence);
    }

    public void SaveSession(StoredSession session)
    {
        HasUnrequestedWrites = true;
        inner.SaveSession(session);
    }

    public void DeleteSession(string clientId)
    {
        HasUnrequestedWrites = true;
        inner.DeleteSession(clientId);
    }

    public void SaveSubscription(StoredSubscription subscription)
    {
        HasUnrequestedWrites = true;
        inner.SaveSubscription(subscription);
    }

    public void DeleteSubscription(string clientId, string topicFilter)
    {
        HasUnrequestedWrites = true;
        inner.DeleteSubscription(clientId, topicFilter);
    }

    public void InsertMessage(StoredMessage message)
    {
        HasUnrequestedWrites = true;
        inner.InsertMessage(message);
    }

    public void DeleteMessage(long messageId)
    {
        HasUnrequestedWrites = true;
        inner.DeleteMessage(messageId);
    }

    public void InsertDelivery(StoredDelivery delivery)
    {
        HasUnrequestedWrites = true;
        inner.InsertDelivery(delivery);
    }

    public void MarkDeliveryReleased(string clientId, long sequence)
    {
        HasUnrequestedWrites = true;
        inner.MarkDeliveryReleased(clientId, sequence);
    }

    public void DeleteDelivery(string clientId, long sequence)
    {
        HasUnrequestedWrites = true;
        inner.DeleteDelivery(clientId, sequence);
    }

    public void AddIncomingPacketIdentifier(string clientId, ushort packetIdentifier)
    {
        HasUnrequestedWrites = true;
        inner.AddIncomingPacketIdentifier(clientId, packetIdentifier);
    }

    public void RemoveIncomingPacketIdentifier(string clientId, ushort packetIdentifier)
    {
        HasUnrequestedWrites = true;
        inner.RemoveIncomingPacketIdentifier(clientId, packetIdentifier);
    }

    public void SetRetained(string topic, long messageId)
    {
        HasUnrequestedWrites = true;
        inner.SetRetained(topic, messageId);
    }

    public void ReserveMessageIds(long upTo)
    {
        HasUnrequestedWrites = true;
        inner.ReserveMessageIds(upTo);
    }

    public void ClearRetained(string topic)
    {
        HasUnrequestedWrites = true;
        inner.ClearRetained(topic);
    }

    public void WhenDurable(Action<bool> callback)
    {
        HasUnrequestedWrites = false;
        inner.WhenDurable(callback);
    }

    public bool SkipsSettledWrites => inner.SkipsSettledWrites;

    public void OnPassEnded() => inner.OnPassEnded();

    public void WhenDurableOrSettled(Action<bool> callback)
    {
        HasUnrequestedWrites = false;
        inner.WhenDurableOrSettled(callback);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the owner disposes the real store
}

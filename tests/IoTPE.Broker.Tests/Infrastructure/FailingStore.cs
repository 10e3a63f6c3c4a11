using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Tests.Infrastructure;

/// <summary>
/// Fault injection around a real store: while <see cref="Failing"/> is set, every durability
/// callback reports failure, as the SQLite store does when a commit fails (disk full, I/O error).
/// </summary>
internal sealed class FailingStore(IBrokerStore inner) : IBrokerStore
{
    public volatile bool Failing;

    public long StoredBytes => inner.StoredBytes;

    public byte[]? ReadPayload(long messageId) => inner.ReadPayload(messageId);

    public StoredBrokerState Load(int maxDeliveriesPerSession) => inner.Load(maxDeliveriesPerSession);

    public IReadOnlyList<StoredQueuedDelivery> ReadDeliveries(string clientId, long afterSequence, int max) => inner.ReadDeliveries(clientId, afterSequence, max);

    public void DeleteDeliveriesAfter(string clientId, long afterSequence) => inner.DeleteDeliveriesAfter(clientId, afterSequence);

    public void SaveSession(StoredSession session) => inner.SaveSession(session);

    public void DeleteSession(string clientId) => inner.DeleteSession(clientId);

    public void SaveSubscription(StoredSubscription subscription) => inner.SaveSubscription(subscription);

    public void DeleteSubscription(string clientId, string topicFilter) => inner.DeleteSubscription(clientId, topicFilter);

    public void InsertMessage(StoredMessage message) => inner.InsertMessage(message);

    public void DeleteMessage(long messageId) => inner.DeleteMessage(messageId);

    public void InsertDelivery(StoredDelivery delivery) => inner.InsertDelivery(delivery);

    public void MarkDeliveryReleased(string clientId, long sequence) => inner.MarkDeliveryReleased(clientId, sequence);

    public void DeleteDelivery(string clientId, long sequence) => inner.DeleteDelivery(clientId, sequence);

    public void AddIncomingPacketIdentifier(string clientId, ushort packetIdentifier) => inner.AddIncomingPacketIdentifier(clientId, packetIdentifier);

    public void RemoveIncomingPacketIdentifier(string clientId, ushort packetIdentifier) => inner.RemoveIncomingPacketIdentifier(clientId, packetIdentifier);

    public void SetRetained(string topic, long messageId) => inner.SetRetained(topic, messageId);

    public void ClearRetained(string topic) => inner.ClearRetained(topic);

    public void ReserveMessageIds(long upTo) => inner.ReserveMessageIds(upTo);

    public void WhenDurable(Action<bool> callback)
    {
        bool failing = Failing;
        inner.WhenDurable(durable => callback(durable && !failing));
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

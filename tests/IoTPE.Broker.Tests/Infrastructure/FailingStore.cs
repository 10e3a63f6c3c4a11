using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Tests.Infrastructure;

/// <summary>
/// Fault injection around a real store: while <see cref="Failing"/> is set, every durability
/// callback reports failure and the writes made meanwhile are lost, as when the SQLite store's commit
/// fails (disk full, I/O error) and is rolled back.
/// </summary>
internal sealed class FailingStore(IBrokerStore inner) : IBrokerStore
{
    public volatile bool Failing;

    public long StoredBytes => inner.StoredBytes;

    public byte[]? ReadPayload(long messageId) => inner.ReadPayload(messageId);

    public StoredBrokerState Load(int maxDeliveriesPerSession) => inner.Load(maxDeliveriesPerSession);

    /// <summary>While set, reading a spilled queue back throws, as a store on an unreachable database server does.</summary>
    public volatile bool FailingReads;

    public IReadOnlyList<StoredQueuedDelivery> ReadDeliveries(string clientId, long afterSequence, int max) =>
        FailingReads ? throw new IOException("the database server is unreachable") : inner.ReadDeliveries(clientId, afterSequence, max);

    public void DeleteDeliveriesAfter(string clientId, long afterSequence) => Write(() => inner.DeleteDeliveriesAfter(clientId, afterSequence));

    public void SaveSession(StoredSession session) => Write(() => inner.SaveSession(session));

    public void DeleteSession(string clientId) => Write(() => inner.DeleteSession(clientId));

    public void SaveSubscription(StoredSubscription subscription) => Write(() => inner.SaveSubscription(subscription));

    public void DeleteSubscription(string clientId, string topicFilter) => Write(() => inner.DeleteSubscription(clientId, topicFilter));

    public void InsertMessage(StoredMessage message) => Write(() => inner.InsertMessage(message));

    public void DeleteMessage(long messageId) => Write(() => inner.DeleteMessage(messageId));

    public void InsertDelivery(StoredDelivery delivery) => Write(() => inner.InsertDelivery(delivery));

    public void MarkDeliveryReleased(string clientId, long sequence) => Write(() => inner.MarkDeliveryReleased(clientId, sequence));

    public void DeleteDelivery(string clientId, long sequence) => Write(() => inner.DeleteDelivery(clientId, sequence));

    public void AddIncomingPacketIdentifier(string clientId, ushort packetIdentifier) => Write(() => inner.AddIncomingPacketIdentifier(clientId, packetIdentifier));

    public void RemoveIncomingPacketIdentifier(string clientId, ushort packetIdentifier) => Write(() => inner.RemoveIncomingPacketIdentifier(clientId, packetIdentifier));

    public void SetRetained(string topic, long messageId) => Write(() => inner.SetRetained(topic, messageId));

    public void ClearRetained(string topic) => Write(() => inner.ClearRetained(topic));

    public void ReserveMessageIds(long upTo) => inner.ReserveMessageIds(upTo);

    // While failing, writes are lost as a rolled-back commit loses them.
    private void Write(Action write)
    {
        if (!Failing)
        {
            write();
        }
    }

    public void WhenDurable(Action<bool> callback)
    {
        bool failing = Failing;
        inner.WhenDurable(durable => callback(durable && !failing));
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

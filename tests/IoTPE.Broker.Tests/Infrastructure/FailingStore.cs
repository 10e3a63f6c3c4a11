using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Tests.Infrastructure;

/// <summary>
/// Fault injection around a real store: while <see cref="Failing"/> is set, every durability
/// callback reports failure and the writes made meanwhile are lost, as when the SQLite store's commit
/// fails (disk full, I/O error) and is rolled back. <see cref="HoldCommits"/> makes commits wait
/// (a disk that has stopped answering) until <see cref="ReleaseCommits"/>.
/// </summary>
internal sealed class FailingStore(IBrokerStore inner) : IBrokerStore
{
    public volatile bool Failing;

    public long StoredBytes => inner.StoredBytes;

    /// <summary>While set, reading a paged-out payload back throws, as a store whose disk fails does.</summary>
    public volatile bool FailingPayloadReads;

    /// <summary>While set, the store answers that it holds no payload at all (rows lost behind the broker's back).</summary>
    public volatile bool MissingPayloads;

    public byte[]? ReadPayload(long messageId) =>
        FailingPayloadReads ? throw new IOException("disk I/O error") : MissingPayloads ? null : inner.ReadPayload(messageId);

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

    private readonly ManualResetEventSlim _commitsReleased = new(initialState: true);

    /// <summary>From now on the store's writer stops at its next commit, until <see cref="ReleaseCommits"/>.</summary>
    public void HoldCommits() => _commitsReleased.Reset();

    public void ReleaseCommits() => _commitsReleased.Set();

    public void WhenDurable(Action<bool> callback) => inner.WhenDurable(Held(callback));

    public bool SkipsSettledWrites => inner.SkipsSettledWrites;

    public void WhenDurableOrSettled(Action<bool> callback) => inner.WhenDurableOrSettled(Held(callback));

    public void OnPassEnded() => inner.OnPassEnded();

    private Action<bool> Held(Action<bool> callback)
    {
        bool failing = Failing;
        return durable =>
        {
            _commitsReleased.Wait(); // on the writer's thread, as a slow fsync holds it
            callback(durable && !failing);
        };
    }

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

using System.Collections.Concurrent;
using IoTPE.Broker.Connections;
using IoTPE.Broker.Routing;
using IoTPE.Broker.Sessions;
using IoTPE.Broker.Storage;
using IoTPE.Mqtt;

namespace IoTPE.Broker;

/// <summary>
/// A client inside the broker's process (the engine, the bridge) with a persistent session: its
/// subscriptions and its QoS 1 queue are stored like any persistent session's, so a message
/// delivered to it survives a crash until it is acknowledged. Deliveries arrive on the broker's
/// threads; the handler must only queue them and return.
/// </summary>
public sealed class InternalClient : IDurableSession
{
    private readonly BrokerState _state;
    private readonly DeliverySender _sender;
    private readonly Session _session;
    private readonly InternalConnection _connection;
    private readonly ConcurrentQueue<InternalDelivery> _acknowledged = new();
    private readonly Action _takeAcknowledged;
    private int _acknowledging; // 1 while a caller passes _acknowledged to the broker

    internal InternalClient(BrokerState state, DeliverySender sender, Session session, InternalConnection connection)
    {
        _state = state;
        _sender = sender;
        _session = session;
        _connection = connection;
        _takeAcknowledged = TakeAcknowledged;
    }

    /// <summary>The client identifier of the session.</summary>
    public string ClientId => _session.ClientId;

    /// <summary>Subscribes the session (kept across restarts). QoS 2 is granted as 1.</summary>
    public void Subscribe(string topicFilter, QualityOfService qos = QualityOfService.AtLeastOnce)
    {
        ArgumentNullException.ThrowIfNull(topicFilter);
        if (!TopicFilter.IsValid(topicFilter))
        {
            throw new ArgumentException($"invalid topic filter '{topicFilter}'", nameof(topicFilter));
        }
        var granted = (QualityOfService)Math.Min((byte)qos, (byte)QualityOfService.AtLeastOnce);
        _state.RunPass(() =>
        {
            if (!_session.Subscriptions.TryGetValue(topicFilter, out Subscription? subscription))
            {
                subscription = new Subscription(_session, topicFilter, topicFilter, shareName: null);
                _session.Subscriptions.Add(topicFilter, subscription);
                _state.Subscriptions.Add(subscription);
            }
            subscription.Options = new SubscriptionOptions(granted, NoLocal: true);
            _state.Store.SaveSubscription(new StoredSubscription(_session.ClientId, topicFilter, subscription.OptionsByte, 0));
            _state.Counters.Subscriptions = _state.Subscriptions.Count;
        });
    }

    /// <summary>
    /// Removes a subscription of the session (persistent: the removal is stored); deliveries already
    /// queued stay. Completes once the removal is durable (true) or its commit failed (false).
    /// </summary>
    public Task<bool> UnsubscribeAsync(string topicFilter)
    {
        ArgumentNullException.ThrowIfNull(topicFilter);
        var removed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _state.RunPass(() =>
        {
            if (_session.Subscriptions.Remove(topicFilter, out Subscription? subscription))
            {
                _state.Subscriptions.Remove(subscription);
                _state.Store.DeleteSubscription(_session.ClientId, topicFilter);
                _state.Counters.Subscriptions = _state.Subscriptions.Count;
            }
            _state.Durability.AfterCommit(durable => removed.TrySetResult(durable));
        });
        return removed.Task;
    }

    /// <summary>
    /// The session's queue as of now (one pass through the broker's lock): deliveries queued and in
    /// flight, their bytes (counted only with a <see cref="SessionQueueLimit"/>), the QoS 1/2
    /// PUBLISHes refused to their publishers because it was full, and when the oldest message of the
    /// queue was stored (Unix milliseconds; 0 when the queue is empty or that time is unknown).
    /// </summary>
    public (long Messages, long Bytes, long Refused, long OldestStoredAtUnixMs) ReadQueue()
    {
        (long, long, long, long) result = default;
        _state.RunPass(() => result = (
            _session.QueuedCount + (_session.HasInFlight ? _session.InFlight.Count : 0),
            _session.QueuedBytes, _session.RefusedMessages, OldestStoredAtUnixMs()));
        return result;
    }

    // Under the broker's lock. The queue is in arrival order, so its head is its oldest; in-flight
    // deliveries (at most the client's window) are all looked at, as acknowledgements leave gaps.
    private long OldestStoredAtUnixMs()
    {
        long oldest = long.MaxValue;
        if (_session.HasInFlight)
        {
            foreach (Delivery delivery in _session.InFlight.Values)
            {
                if (delivery.Message.StoredAtUnixMs is > 0 and long storedAt && storedAt < oldest)
                {
                    oldest = storedAt;
                }
            }
        }
        if (_session.HasQueued && _session.Queued.Peek().Message.StoredAtUnixMs is > 0 and long queuedAt && queuedAt < oldest)
        {
            oldest = queuedAt;
        }
        return oldest == long.MaxValue ? 0 : oldest;
    }

    /// <summary>
    /// Rewrites the session's stored record and completes once the store has committed it (true)
    /// or failed to (false): a round trip through the broker's lock and its store's writer, which
    /// <c>iotpe run</c> takes as proof that the broker is alive before it feeds systemd's watchdog.
    /// </summary>
    public Task<bool> ProbeStoreAsync()
    {
        var committed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _state.RunPass(() =>
        {
            _state.Store.SaveSession(new StoredSession(_session.ClientId, (byte)_session.ProtocolVersion, _session.ExpiryIntervalSeconds,
                _session.DisconnectedAtUnixMs, _session.Identity.UserName));
            _state.Durability.AfterCommit(durable => committed.TrySetResult(durable));
        });
        return committed.Task;
    }

    /// <summary>
    /// Completes a delivery: at QoS 1 it leaves the durable queue; at QoS 0 it no longer counts
    /// against the client's limit of deliveries being handled. Call it once per delivery, from any thread.
    /// </summary>
    public void Acknowledge(InternalDelivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (delivery.QoS == QualityOfService.AtMostOnce)
        {
            _connection.CompleteAtMostOnce();
            return;
        }
        // Acknowledgements that arrive while another caller holds the broker's lock for them ride in
        // its pass: a burst of completions (a bridge's window of PUBCOMPs, each continuing on its own
        // thread-pool thread) costs a few passes instead of one each and does not queue on the lock.
        _acknowledged.Enqueue(delivery);
        while (!_acknowledged.IsEmpty && Interlocked.CompareExchange(ref _acknowledging, 1, 0) == 0)
        {
            try
            {
                _state.RunPass(_takeAcknowledged);
            }
            finally
            {
                Volatile.Write(ref _acknowledging, 0);
            }
        }
    }

    // Under the broker's lock.
    private void TakeAcknowledged()
    {
        while (_acknowledged.TryDequeue(out InternalDelivery? delivery))
        {
            // After a take-over the delivery is the new client's (resent to it); like a PUBACK on a
            // connection that was taken over, this one no longer counts.
            if (ReferenceEquals(_session.Connection, _connection))
            {
                _sender.OnPubAck(_session, delivery.PacketIdentifier);
            }
        }
    }
}

using IoTPE.Client.Dispatch;
using IoTPE.Client.Logging;
using IoTPE.Mqtt;

namespace IoTPE.Client.Session;

/// <summary>
/// This client's subscriptions (spec 3.8-3.11): the handlers by filter, and SUBSCRIBE/UNSUBSCRIBE requests until
/// they are acknowledged — resent on every connection until then, and all subscriptions resent when the broker lost
/// the session. MQTT 5.0 subscriptions ask for retained messages only when new (Retain Handling 1), so resubscribing
/// after a restart does not replay them. Used under the session lock.
/// </summary>
internal sealed class SubscriptionRequests
{
    private readonly ClientSession _session;
    private readonly Dictionary<string, Subscription> _active = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dropped = new(StringComparer.Ordinal);
    private readonly List<SubscribeRequest> _subscribes = [];
    private readonly List<UnsubscribeRequest> _unsubscribes = [];

    public SubscriptionRequests(ClientSession session) => _session = session;

    /// <summary>Registers the subscriptions (replacing the handlers of equal filters) and subscribes; completes at SUBACK.</summary>
    public Task SubscribeAsync(IReadOnlyList<Subscription> subscriptions)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_session.Gate)
        {
            foreach (Subscription subscription in subscriptions)
            {
                _active[subscription.Filter] = subscription;
                _dropped.Remove(subscription.Filter);
            }

            var request = new SubscribeRequest(subscriptions, done);
            _subscribes.Add(request);
            if (_session.IsConnected)
            {
                Send(request);
            }
        }

        _session.Dispatcher.Unpark();
        return done.Task;
    }

    /// <summary>Removes the subscriptions and unsubscribes; completes at UNSUBACK. Messages still arriving for them are acknowledged and dropped.</summary>
    public Task UnsubscribeAsync(IReadOnlyList<string> filters)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_session.Gate)
        {
            foreach (string filter in filters)
            {
                _active.Remove(filter);
                _dropped.Add(filter);
            }

            var request = new UnsubscribeRequest(filters, done);
            _unsubscribes.Add(request);
            if (_session.IsConnected)
            {
                Send(request);
            }
        }

        _session.Dispatcher.Unpark();
        return done.Task;
    }

    /// <summary>The subscriptions whose filter matches <paramref name="topic"/>.</summary>
    public List<Subscription> Match(string topic)
    {
        var matches = new List<Subscription>();
        foreach (Subscription subscription in _active.Values)
        {
            if (subscription.Matches(topic))
            {
                matches.Add(subscription);
            }
        }

        return matches;
    }

    /// <summary>Whether <paramref name="topic"/> belongs to a filter this client unsubscribed from.</summary>
    public bool IsDropped(string topic)
    {
        foreach (string filter in _dropped)
        {
            string matchFilter = SharedSubscription.TryParse(filter, out SharedSubscription shared) ? shared.TopicFilter : filter;
            if (TopicFilter.Matches(matchFilter, topic))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A connection was accepted: resends what is unacknowledged (everything, if the broker lost the session).</summary>
    public void OnConnected(bool sessionPresent)
    {
        if (!sessionPresent)
        {
            foreach (UnsubscribeRequest request in _unsubscribes)
            {
                request.Done.TrySetResult(); // The broker has no subscriptions left to remove.
            }

            _unsubscribes.Clear();
            var pending = _subscribes.SelectMany(r => r.Subscriptions).ToHashSet();
            var lost = _active.Values.Where(s => s.Acknowledged && !pending.Contains(s)).ToList();
            if (lost.Count > 0)
            {
                foreach (Subscription subscription in lost)
                {
                    subscription.Acknowledged = false;
                }

                _subscribes.Insert(0, new SubscribeRequest(lost, null));
            }
        }

        foreach (SubscribeRequest request in _subscribes)
        {
            Send(request);
        }

        foreach (UnsubscribeRequest request in _unsubscribes)
        {
            Send(request);
        }
    }

    /// <summary>The connection ended: unacknowledged requests give their packet identifiers back and wait for the next one.</summary>
    public void OnDisconnected()
    {
        foreach (SubscribeRequest request in _subscribes)
        {
            _session.Ids.Return(request.PacketId);
            request.PacketId = 0;
        }

        foreach (UnsubscribeRequest request in _unsubscribes)
        {
            _session.Ids.Return(request.PacketId);
            request.PacketId = 0;
        }
    }

    public void OnSubAck(SubAckPacket ack)
    {
        int index = _subscribes.FindIndex(r => r.PacketId == ack.PacketIdentifier);
        if (index < 0)
        {
            return;
        }

        SubscribeRequest request = _subscribes[index];
        _subscribes.RemoveAt(index);
        _session.Ids.Return(request.PacketId);
        var refused = new List<string>();
        ReasonCode refusal = ReasonCode.Success;
        for (int i = 0; i < request.Subscriptions.Count; i++)
        {
            Subscription subscription = request.Subscriptions[i];
            ReasonCode code = i < ack.ReasonCodes.Count ? ack.ReasonCodes[i] : ReasonCode.UnspecifiedError;
            if ((byte)code < 0x80)
            {
                subscription.Acknowledged = true;
                continue;
            }

            ClientLog.SubscribeRefused(_session.Logger, subscription.Filter, code);
            refused.Add(subscription.Filter);
            refusal = code;
            if (_active.TryGetValue(subscription.Filter, out Subscription? current) && current == subscription)
            {
                _active.Remove(subscription.Filter);
            }
        }

        if (refused.Count == 0)
        {
            request.Done?.TrySetResult();
        }
        else
        {
            request.Done?.TrySetException(new MqttRejectedException(refusal, $"The broker refused the subscription to {string.Join(", ", refused)}: {refusal}."));
        }
    }

    public void OnUnsubAck(UnsubAckPacket ack)
    {
        int index = _unsubscribes.FindIndex(r => r.PacketId == ack.PacketIdentifier);
        if (index < 0)
        {
            return;
        }

        UnsubscribeRequest request = _unsubscribes[index];
        _unsubscribes.RemoveAt(index);
        _session.Ids.Return(request.PacketId);
        request.Done.TrySetResult();
    }

    /// <summary>The client is being disposed: callers still waiting are cancelled.</summary>
    public void CancelWaiters()
    {
        foreach (SubscribeRequest request in _subscribes)
        {
            request.Done?.TrySetCanceled();
        }

        foreach (UnsubscribeRequest request in _unsubscribes)
        {
            request.Done.TrySetCanceled();
        }
    }

    private void Send(SubscribeRequest request)
    {
        if (request.PacketId == 0)
        {
            request.PacketId = _session.Ids.Rent();
        }

        RetainHandling retainHandling = _session.Version == MqttProtocolVersion.V500 ? RetainHandling.SendAtSubscribeIfNew : RetainHandling.SendAtSubscribe;
        var filters = request.Subscriptions
            .Select(s => new TopicSubscription(s.Filter, new SubscriptionOptions(s.QoS, NoLocal: s.NoLocal && _session.Version == MqttProtocolVersion.V500, RetainHandling: retainHandling)))
            .ToList();
        _session.Send(new SubscribePacket(request.PacketId, filters));
    }

    private void Send(UnsubscribeRequest request)
    {
        if (request.PacketId == 0)
        {
            request.PacketId = _session.Ids.Rent();
        }

        _session.Send(new UnsubscribePacket(request.PacketId, request.Filters));
    }
}

using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Sessions;
using IoTPE.Broker.Storage;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Routing;

/// <summary>
/// Delivers a message to every session with a matching subscription (MQTT 5.0 §3.3.4): once per
/// session even when several of its subscriptions match, at the highest of their QoS (capped by
/// the message's), with all their Subscription Identifiers; one member of each matching shared
/// subscription; honouring No Local and Retain As Published; and only to sessions allowed to
/// receive the topic. Used under the broker lock.
/// </summary>
internal sealed class MessageRouter
{
    private readonly BrokerState _state;
    private readonly DeliverySender _sender;
    private readonly List<Subscription> _matches = [];
    private readonly List<SharedSubscriptionGroup> _sharedGroups = [];
    private readonly Dictionary<Session, Target> _targets = [];
    private readonly Dictionary<string, long> _bytesByAccount = new(StringComparer.Ordinal);
    private ApplicationMessage? _planned;
    private long _refusals;

    public MessageRouter(BrokerState state, DeliverySender sender)
    {
        _state = state;
        _sender = sender;
    }

    /// <summary>Routes <paramref name="message"/> and returns how many sessions it went to.</summary>
    public int Route(ApplicationMessage message)
    {
        Plan(message);
        return Deliver(message);
    }

    /// <summary>
    /// Finds the sessions <paramref name="message"/> goes to, for <see cref="Overflows"/> and
    /// <see cref="Deliver"/> in the same pass. A shared subscription's member is picked here.
    /// </summary>
    public void Plan(ApplicationMessage message)
    {
        _planned = message;
        _matches.Clear();
        _sharedGroups.Clear();
        _targets.Clear();
        _state.Subscriptions.Match(message.Topic, _matches, _sharedGroups);
        foreach (SharedSubscriptionGroup group in _sharedGroups)
        {
            _matches.Add(group.Pick());
        }

        foreach (Subscription subscription in _matches)
        {
            if (subscription.Options.NoLocal && IsPublishedBy(message, subscription.Session))
            {
                continue; // §3.8.3.1: not to the connection that published it.
            }
            QualityOfService qos = (QualityOfService)Math.Min((byte)subscription.Options.MaximumQoS, (byte)message.QoS);
            _targets.TryGetValue(subscription.Session, out Target target);
            target.QoS = (QualityOfService)Math.Max((byte)target.QoS, (byte)qos);
            target.Retain |= subscription.Options.RetainAsPublished && message.Retain;
            if (subscription.SubscriptionIdentifier != 0)
            {
                target.AddSubscriptionIdentifier(subscription.SubscriptionIdentifier);
            }
            _targets[subscription.Session] = target;
        }
    }

    /// <summary>
    /// Whether the planned QoS 1/2 message would overflow a session's queue
    /// (<see cref="BrokerOptions.MaxQueuedMessages"/>) or an account's queue quota
    /// (<see cref="BrokerOptions.MaxQueuedBytesPerAccount"/>). The whole PUBLISH is then refused
    /// to its publisher, for every subscriber: a message acknowledged to its publisher is never
    /// dropped for one of them, and the publisher sends it again later.
    /// </summary>
    public bool Overflows(ApplicationMessage message)
    {
        if (!ReferenceEquals(message, _planned))
        {
            throw new InvalidOperationException("Overflows needs the message planned in this pass.");
        }
        if (message.QoS == QualityOfService.AtMostOnce)
        {
            return false;
        }
        _bytesByAccount.Clear();
        long size = AccountQueueQuota.SizeOf(message);
        foreach ((Session session, Target target) in _targets)
        {
            if (target.QoS == QualityOfService.AtMostOnce || !_state.MayReceive(session, message.Topic))
            {
                continue;
            }
            if (_sender.IsFull(session, size))
            {
                _refusals++;
                session.RefusedMessages++;
                if (_refusals == 1 || _refusals % 1000 == 0)
                {
                    _state.Log.SessionQueueFullRefused(session.ClientId, message.Topic, (int)Math.Min(session.QueuedCount, int.MaxValue), _refusals);
                }
                return true;
            }
            if (AccountQueueQuota.AccountOf(session) is { } account)
            {
                _bytesByAccount[account] = _bytesByAccount.GetValueOrDefault(account) + size;
            }
        }
        foreach ((string account, long bytes) in _bytesByAccount)
        {
            if (!_state.QueueQuota.Admits(account, bytes, message.Topic))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Whether <see cref="Deliver"/> would write the planned message to the store: a QoS 1/2 delivery
    /// for a persistent session (the engine's and other in-process sessions only when
    /// <paramref name="includeInternal"/>). Asked for the disk reserve.
    /// </summary>
    public bool Stores(ApplicationMessage message, bool includeInternal)
    {
        if (!ReferenceEquals(message, _planned))
        {
            throw new InvalidOperationException("Stores needs the message planned in this pass.");
        }
        foreach ((Session session, Target target) in _targets)
        {
            if (target.QoS != QualityOfService.AtMostOnce && session.IsPersistent &&
                (includeInternal || !session.Identity.IsInternal) && _state.MayReceive(session, message.Topic))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Delivers the planned message and returns how many sessions it went to.</summary>
    public int Deliver(ApplicationMessage message)
    {
        if (!ReferenceEquals(message, _planned))
        {
            throw new InvalidOperationException("Deliver needs the message planned in this pass.");
        }
        _planned = null;
        int delivered = 0;
        long now = _state.NowUnixMs;
        foreach ((Session session, Target target) in _targets)
        {
            if (!_state.MayReceive(session, message.Topic))
            {
                continue;
            }
            delivered++;
            if (target.QoS == QualityOfService.AtMostOnce)
            {
                SendAtMostOnce(session, message, target.Retain, target.SubscriptionIdentifiers, now);
            }
            else
            {
                _sender.Enqueue(session, message, target.QoS, target.Retain, target.SubscriptionIdentifiers);
            }
        }
        _targets.Clear();
        return delivered;
    }

    // Client identifiers are scoped per account (SessionKey): the same identifier in another
    // account is another client.
    private static bool IsPublishedBy(ApplicationMessage message, Session session) =>
        message.PublisherClientId == session.Identity.ClientId && message.PublisherUserName == session.Identity.UserName;

    /// <summary>QoS 0 goes straight out to a connected client that keeps up, and nowhere else (not queued offline, as Mosquitto's default).</summary>
    public void SendAtMostOnce(Session session, ApplicationMessage message, bool retain, uint[]? subscriptionIdentifiers, long now)
    {
        if (session.Connection is not { } connection)
        {
            return;
        }
        if (!connection.AcceptsQoS0)
        {
            DropAtMostOnce(session, message, "slow consumer: too much waiting for it (QoS 0)");
            return;
        }
        if (_state.Payloads.TryRead(message, out ReadOnlyMemory<byte> payload, out Exception? failure) != PayloadReadResult.Read)
        {
            // At most once: a stored (retained) message the store cannot give back now is not sent.
            DropAtMostOnce(session, message, failure is null ? "its payload is missing from the store" : "the store could not be read: " + failure.Message);
            return;
        }
        if (connection.SendPublish(message, payload, QualityOfService.AtMostOnce, retain, dup: false, packetIdentifier: 0, subscriptionIdentifiers, now))
        {
            _state.Counters.MessagesSent++;
        }
        if (connection.IsCongested)
        {
            _state.CongestedConsumer = connection;
        }
    }

    // Counted every time, logged the first time and every 1,000th, so a flood of drops cannot flood the log.
    private void DropAtMostOnce(Session session, ApplicationMessage message, string reason)
    {
        session.CountDropped();
        _state.Counters.MessagesDropped++;
        if (session.DroppedMessages == 1 || session.DroppedMessages % 1000 == 0)
        {
            _state.Log.MessageDropped(session.ClientId, message.Topic, reason, session.DroppedMessages);
        }
    }

    private struct Target
    {
        public QualityOfService QoS;
        public bool Retain;
        public uint[]? SubscriptionIdentifiers;

        public void AddSubscriptionIdentifier(uint identifier)
        {
            SubscriptionIdentifiers = SubscriptionIdentifiers is null ? [identifier] : [.. SubscriptionIdentifiers, identifier];
        }
    }
}

using IoTPE.Broker.Connections;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Routing;
using IoTPE.Broker.Sessions;
using IoTPE.Broker.Storage;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Protocol;

/// <summary>
/// SUBSCRIBE and UNSUBSCRIBE (MQTT 5.0 §3.8–3.11): authorizes each filter, adds or replaces the
/// subscription, answers SUBACK, then sends the matching retained messages as Retain Handling
/// asks. Used under the broker lock.
/// </summary>
internal sealed class SubscribeHandler
{
    private readonly BrokerState _state;
    private readonly MessageRouter _router;
    private readonly DeliverySender _sender;
    private readonly RetainedMessages _retained;
    private readonly List<ApplicationMessage> _retainedMatches = [];

    public SubscribeHandler(BrokerState state, MessageRouter router, DeliverySender sender, RetainedMessages retained)
    {
        _state = state;
        _router = router;
        _sender = sender;
        _retained = retained;
    }

    /// <summary>Handles SUBSCRIBE. Returns false when the connection must end.</summary>
    public bool Handle(IClientConnection connection, Session session, SubscribePacket packet)
    {
        bool v5 = connection.ProtocolVersion == MqttProtocolVersion.V500;
        var reasonCodes = new ReasonCode[packet.Subscriptions.Count];
        var retainedFor = new List<(Subscription Subscription, QualityOfService Granted)>();
        for (int i = 0; i < packet.Subscriptions.Count; i++)
        {
            TopicSubscription requested = packet.Subscriptions[i];
            string filter = requested.TopicFilter;
            string? shareName = null;
            if (SharedSubscription.IsShared(filter))
            {
                if (!SharedSubscription.TryParse(filter, out SharedSubscription shared))
                {
                    reasonCodes[i] = Refused(session, filter, ReasonCode.TopicFilterInvalid, "invalid shared subscription", v5);
                    continue;
                }
                if (requested.Options.NoLocal)
                {
                    // §3.8.3.1: No Local on a shared subscription is a Protocol Error.
                    if (connection is NetworkConnection network)
                    {
                        network.ProtocolViolation(ReasonCode.ProtocolError, "No Local set on a shared subscription");
                    }
                    return false;
                }
                shareName = shared.ShareName;
                filter = shared.TopicFilter;
            }
            if (!_state.Authorizer.CanSubscribe(session.Identity, filter))
            {
                reasonCodes[i] = Refused(session, requested.TopicFilter, ReasonCode.NotAuthorized, "not authorized to subscribe to this filter", v5);
                continue;
            }

            var granted = (QualityOfService)Math.Min((byte)requested.Options.MaximumQoS, (byte)_state.Options.MaximumQoS);
            SubscriptionOptions options = requested.Options with { MaximumQoS = granted };
            bool isNew = !session.Subscriptions.TryGetValue(requested.TopicFilter, out Subscription? subscription);
            if (subscription is null)
            {
                subscription = new Subscription(session, requested.TopicFilter, filter, shareName);
                session.Subscriptions.Add(requested.TopicFilter, subscription);
                _state.Subscriptions.Add(subscription);
            }
            // §3.8.4: a subscription to an existing filter replaces it, options and identifier included.
            subscription.Options = options;
            subscription.SubscriptionIdentifier = v5 ? packet.SubscriptionIdentifier ?? 0 : 0;
            if (session.IsPersistent)
            {
                _state.Store.SaveSubscription(new StoredSubscription(session.ClientId, subscription.TopicFilter, subscription.OptionsByte, subscription.SubscriptionIdentifier));
            }
            reasonCodes[i] = (ReasonCode)(byte)granted;
            bool sendRetained = shareName is null && options.RetainHandling switch
            {
                RetainHandling.SendAtSubscribe => true,
                RetainHandling.SendAtSubscribeIfNew => isNew,
                _ => false,
            };
            if (sendRetained)
            {
                retainedFor.Add((subscription, granted));
            }
        }
        _state.Counters.Subscriptions = _state.Subscriptions.Count;
        connection.Send(new SubAckPacket(packet.PacketIdentifier, reasonCodes));

        // Retained messages go out after the SUBACK, with RETAIN set (§3.3.1.3).
        long now = _state.NowUnixMs;
        foreach ((Subscription subscription, QualityOfService granted) in retainedFor)
        {
            _retainedMatches.Clear();
            _retained.Match(subscription.Filter, _retainedMatches);
            uint[]? identifiers = subscription.SubscriptionIdentifier != 0 ? [subscription.SubscriptionIdentifier] : null;
            foreach (ApplicationMessage message in _retainedMatches)
            {
                if (!_state.MayReceive(session, message.Topic))
                {
                    continue;
                }
                var qos = (QualityOfService)Math.Min((byte)granted, (byte)message.QoS);
                if (qos == QualityOfService.AtMostOnce)
                {
                    _router.SendAtMostOnce(session, message, retain: true, identifiers, now);
                }
                else
                {
                    _sender.Enqueue(session, message, qos, retain: true, identifiers);
                }
            }
        }
        _retainedMatches.Clear();
        return true;
    }

    /// <summary>Handles UNSUBSCRIBE.</summary>
    public void HandleUnsubscribe(IClientConnection connection, Session session, UnsubscribePacket packet)
    {
        var reasonCodes = new ReasonCode[packet.TopicFilters.Count];
        for (int i = 0; i < packet.TopicFilters.Count; i++)
        {
            string filter = packet.TopicFilters[i];
            if (session.Subscriptions.Remove(filter, out Subscription? subscription))
            {
                _state.Subscriptions.Remove(subscription);
                if (session.IsPersistent)
                {
                    _state.Store.DeleteSubscription(session.ClientId, filter);
                }
                reasonCodes[i] = ReasonCode.Success;
            }
            else
            {
                reasonCodes[i] = ReasonCode.NoSubscriptionExisted;
            }
        }
        _state.Counters.Subscriptions = _state.Subscriptions.Count;
        connection.Send(new UnsubAckPacket(packet.PacketIdentifier, reasonCodes));
    }

    private ReasonCode Refused(Session session, string filter, ReasonCode reason, string text, bool v5)
    {
        _state.Log.SubscribeRefused(session.ClientId, filter, reason, text);
        // 3.1.1 has a single failure code, 0x80 (§3.9.3).
        return v5 ? reason : ReasonCode.UnspecifiedError;
    }
}

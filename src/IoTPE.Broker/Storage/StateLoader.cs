using IoTPE.Broker.Connections;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Routing;
using IoTPE.Broker.Security;
using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Storage;

/// <summary>
/// Rebuilds the broker's memory from the store at start-up: persistent sessions with their
/// subscriptions, queued and in-flight deliveries and QoS 2 state, and retained messages. Of each
/// session's queue only a window is loaded (<see cref="BrokerOptions.MaxResidentDeliveriesPerSession"/>);
/// the rest becomes its <see cref="SpilledTail"/>, counted here but left on disk.
/// </summary>
internal static class StateLoader
{
    // Stored records above which loading is followed by a full collection.
    private const int LargeState = 100_000;

    // Rows read at a time while a queue's tail beyond the window is counted.
    private const int TailPage = 10_000;

    public static void Load(BrokerState state, SessionRegistry sessions)
    {
        // Everything that may have been in flight is among the lowest sequences: load at least that.
        int window = Math.Max(state.Options.MaxResidentDeliveriesPerSession, state.Options.MaxInflightMessages);
        StoredBrokerState stored = state.Store.Load(window);
        long now = state.NowUnixMs;

        var messages = new Dictionary<long, ApplicationMessage>();
        var topics = new TopicNameCache();
        foreach (StoredMessage storedMessage in stored.Messages)
        {
            if (StoredMessageCodec.Decode(storedMessage, state.Payloads, topics) is { } message)
            {
                messages[storedMessage.Id] = message;
            }
            state.ContinueMessageIdsAfter(storedMessage.Id);
        }
        // Ids must not come back after a restart either, though the messages with the highest ids
        // may have been deleted before the stop: an in-process client may have recorded one
        // elsewhere (the bridge names each forwarded message by it in its client's state file).
        state.ContinueMessageIdsAfter(stored.MessageIdsReservedUpTo);

        foreach (StoredSession s in stored.Sessions)
        {
            var session = sessions.Create(s.ClientId, new ClientIdentity(SessionKey.ClientIdOf(s.ClientId), s.UserName, null, "restored"));
            // A client connected when the broker stopped is disconnected since the restart.
            session.Restore((MqttProtocolVersion)s.ProtocolVersion, s.ExpiryIntervalSeconds, s.DisconnectedAtUnixMs ?? now);
        }

        foreach (StoredSubscription s in stored.Subscriptions)
        {
            if (!state.Sessions.TryGetValue(s.ClientId, out Session? session))
            {
                continue;
            }
            string filter = s.TopicFilter;
            string? shareName = null;
            if (SharedSubscription.TryParse(s.TopicFilter, out SharedSubscription shared))
            {
                filter = shared.TopicFilter;
                shareName = shared.ShareName;
            }
            var subscription = new Subscription(session, s.TopicFilter, filter, shareName)
            {
                Options = Subscription.OptionsFromByte(s.Options),
                SubscriptionIdentifier = s.SubscriptionIdentifier,
            };
            session.Subscriptions[s.TopicFilter] = subscription;
            state.Subscriptions.Add(subscription);
        }

        int deliveries = 0;
        var rowsBySession = new Dictionary<string, (int Rows, long LastSequence)>(StringComparer.Ordinal);
        foreach (StoredDelivery d in stored.Deliveries)
        {
            (int rows, _) = rowsBySession.GetValueOrDefault(d.ClientId);
            rowsBySession[d.ClientId] = (rows + 1, d.Sequence);
            if (!state.Sessions.TryGetValue(d.ClientId, out Session? session) || !messages.TryGetValue(d.MessageId, out ApplicationMessage? message))
            {
                state.Store.DeleteDelivery(d.ClientId, d.Sequence);
                continue;
            }
            var delivery = new Delivery(message, d.Sequence, (QualityOfService)d.QoS, d.Retain, d.SubscriptionIdentifiers.Length > 0 ? d.SubscriptionIdentifiers : null)
            {
                Stored = true,
            };
            message.StoreReferences++;
            state.QueueQuota.Charge(session, delivery);
            if (d.Released)
            {
                // PUBREC had arrived: after the reconnect the broker resends PUBREL (§4.3.3).
                delivery.State = DeliveryState.AwaitingPubComp;
                session.InFlight[delivery.PacketIdentifier] = delivery;
            }
            else
            {
                delivery.Attempts = 1; // it may have been sent before the restart: resend with DUP
                session.Queued.Enqueue(delivery);
            }
            session.ContinueAfter(d.Sequence);
            deliveries++;
        }

        long spilled = 0;
        foreach ((string clientId, (int rows, long lastSequence)) in rowsBySession)
        {
            if (rows >= window && state.Sessions.TryGetValue(clientId, out Session? session))
            {
                spilled += CountTail(state, session, lastSequence, messages, topics);
            }
        }

        foreach (StoredIncomingPacketIdentifier incoming in stored.IncomingPacketIdentifiers)
        {
            if (state.Sessions.TryGetValue(incoming.ClientId, out Session? session))
            {
                session.IncomingPacketIdentifiers.Add(incoming.PacketIdentifier);
            }
        }

        foreach (StoredRetained retained in stored.Retained)
        {
            if (messages.TryGetValue(retained.MessageId, out ApplicationMessage? message))
            {
                message.StoreReferences++;
                state.Retained.Set(message);
            }
            else
            {
                state.Store.ClearRetained(retained.Topic);
            }
        }

        foreach (ApplicationMessage message in messages.Values)
        {
            if (message.StoreReferences == 0)
            {
                state.Store.DeleteMessage(message.StoreId);
                message.StoreId = 0;
            }
        }

        state.Counters.Sessions = state.Sessions.Count;
        state.Counters.Subscriptions = state.Subscriptions.Count;
        state.Counters.RetainedMessages = state.Retained.Count;
        state.Log.StateLoaded(stored.Sessions.Count, (int)Math.Min(deliveries + spilled, int.MaxValue), state.Retained.Count);
        if (stored.Messages.Count + stored.Deliveries.Count + spilled > LargeState)
        {
            // What loading read (the stored records, one copy of every packet) is garbage now, but
            // a broker that has just started allocates little, so nothing would collect it soon:
            // give it back at once rather than carry a start-up peak for hours.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }

    /// <summary>
    /// Reads the queue of <paramref name="session"/> beyond the window, a page at a time, to count
    /// it (deliveries and bytes, for the limits) and to continue its sequence, keeping none of it in
    /// memory but the deliveries of messages loaded anyway (shared or retained), whose references
    /// must be counted. Returns how many deliveries the tail holds.
    /// </summary>
    private static long CountTail(BrokerState state, Session session, long afterSequence, Dictionary<long, ApplicationMessage> messages, TopicNameCache topics)
    {
        var tail = new SpilledTail { AfterSequence = afterSequence };
        long after = afterSequence;
        while (true)
        {
            IReadOnlyList<StoredQueuedDelivery> page = state.Store.ReadDeliveries(session.ClientId, after, TailPage);
            foreach (StoredQueuedDelivery row in page)
            {
                StoredDelivery d = row.Delivery;
                after = d.Sequence;
                session.ContinueAfter(d.Sequence);
                state.ContinueMessageIdsAfter(d.MessageId);
                ApplicationMessage? message = null;
                if (messages.TryGetValue(d.MessageId, out ApplicationMessage? shared))
                {
                    message = shared;
                    var pinned = new Delivery(shared, d.Sequence, (QualityOfService)d.QoS, d.Retain, d.SubscriptionIdentifiers.Length > 0 ? d.SubscriptionIdentifiers : null)
                    {
                        Stored = true,
                    };
                    shared.StoreReferences++;
                    tail.Pinned[d.Sequence] = pinned;
                }
                else if (row.Message is { } storedMessage)
                {
                    // Decoded only to be counted as the broker counts it; the store keeps it.
                    message = StoredMessageCodec.Decode(storedMessage, state.Payloads, topics);
                }
                if (message is null)
                {
                    state.Store.DeleteDelivery(session.ClientId, d.Sequence);
                    continue;
                }
                tail.Count++;
                state.QueueQuota.ChargeSpilled(session, tail, AccountQueueQuota.SizeOf(message));
            }
            if (page.Count < TailPage)
            {
                break;
            }
        }
        if (tail.Count > 0)
        {
            session.Spilled = tail;
            state.Counters.SpilledDeliveries += tail.Count;
        }
        return tail.Count;
    }
}

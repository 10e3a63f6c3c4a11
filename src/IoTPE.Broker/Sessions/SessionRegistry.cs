using IoTPE.Broker.Routing;
using IoTPE.Broker.Security;
using IoTPE.Broker.Storage;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Sessions;

/// <summary>
/// Creates, stores and ends sessions, keeping the subscription tree and the store in step with
/// them. Used under the broker lock.
/// </summary>
internal sealed class SessionRegistry
{
    private readonly BrokerState _state;
    private readonly DeliverySender _sender;

    public SessionRegistry(BrokerState state, DeliverySender sender)
    {
        _state = state;
        _sender = sender;
    }

    /// <summary>The session with <paramref name="key"/> (see <see cref="SessionKey"/>), if any.</summary>
    public Session? Find(string key) => _state.Sessions.GetValueOrDefault(key);

    /// <summary>Creates the session <paramref name="key"/> (see <see cref="SessionKey"/>) for <paramref name="identity"/>.</summary>
    public Session Create(string key, ClientIdentity identity)
    {
        var session = new Session(key, identity);
        _state.Sessions.Add(key, session);
        _state.Counters.Sessions = _state.Sessions.Count;
        return session;
    }

    /// <summary>Writes the session's record (persistent sessions only), or removes it when it stopped being persistent.</summary>
    public void Save(Session session, bool wasStored)
    {
        if (session.IsPersistent)
        {
            _state.Store.SaveSession(new StoredSession(session.ClientId, (byte)session.ProtocolVersion, session.ExpiryIntervalSeconds,
                session.DisconnectedAtUnixMs, session.Identity.UserName));
            if (!wasStored && session.HasSubscriptions)
            {
                // Subscriptions made while the session was not persistent become durable with it.
                foreach (Subscription subscription in session.Subscriptions.Values)
                {
                    _state.Store.SaveSubscription(new StoredSubscription(session.ClientId, subscription.TopicFilter, subscription.OptionsByte, subscription.SubscriptionIdentifier));
                }
            }
        }
        else if (wasStored)
        {
            // A session that stops being persistent (MQTT 5.0 Session Expiry Interval set to 0)
            // keeps its state in memory until it ends; its stored rows go now.
            _state.Store.DeleteSession(session.ClientId);
            _sender.ForgetStoredRows(session);
        }
    }

    /// <summary>Ends a session: drops its subscriptions and messages, in memory and in the store (§4.1).</summary>
    public void End(Session session)
    {
        if (session.HasSubscriptions)
        {
            foreach (Subscription subscription in session.Subscriptions.Values)
            {
                _state.Subscriptions.Remove(subscription);
            }
            session.Subscriptions.Clear();
            _state.Counters.Subscriptions = _state.Subscriptions.Count;
        }
        _sender.DiscardAll(session);
        if (session.IsPersistent)
        {
            _state.Store.DeleteSession(session.ClientId);
        }
        _state.Sessions.Remove(session.ClientId);
        _state.Counters.Sessions = _state.Sessions.Count;
    }

    /// <summary>The expiry interval a CONNECT asks for, as the broker grants it.</summary>
    public uint GrantedExpiry(ConnectPacket connect)
    {
        if (connect.ProtocolVersion == MqttProtocolVersion.V500)
        {
            return Math.Min(connect.SessionExpiryInterval ?? 0, _state.Options.MaxSessionExpiryInterval);
        }
        // 3.1.1 §3.1.2.4: CleanSession=0 keeps the session after the connection ends.
        return connect.CleanSession ? 0 : _state.Options.PersistentSessionExpiry;
    }
}

using IoTPE.Broker.Connections;
using IoTPE.Broker.Security;
using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Protocol;

/// <summary>
/// The one path by which a connection, a network client's or an in-process client's, gets its
/// session: takes the session over from a connection still attached to it (MQTT 5.0 §3.1.4-3),
/// ends it first on Clean Start or resumes it, stores it, attaches the connection, and after the
/// caller has answered (CONNACK) resends what was in flight (§4.4). Used under the broker lock.
/// </summary>
internal sealed class SessionAttacher
{
    private readonly SessionRegistry _sessions;
    private readonly DeliverySender _sender;
    private readonly WillPublisher _wills;
    private readonly DisconnectHandler _disconnects;

    public SessionAttacher(SessionRegistry sessions, DeliverySender sender, WillPublisher wills, DisconnectHandler disconnects)
    {
        _sessions = sessions;
        _sender = sender;
        _wills = wills;
        _disconnects = disconnects;
    }

    /// <summary>
    /// Attaches <paramref name="connection"/> to the session <paramref name="key"/> of
    /// <paramref name="identity"/> on <paramref name="terms"/>. Sends nothing to the new connection;
    /// call <see cref="Resume"/> once the caller has answered the client.
    /// </summary>
    /// <param name="sessionPresent">Whether an earlier session was resumed (CONNACK's Session Present, §3.2.2.1.1).</param>
    public Session Attach(IClientConnection connection, string key, ClientIdentity identity, in SessionTerms terms, out bool sessionPresent)
    {
        Session? session = _sessions.Find(key);
        if (session?.Connection is { } previous)
        {
            // §3.1.4-3: the new connection takes the session over; the old one ends as if it had
            // been lost (its will is published unless the session goes on, §3.1.2.5).
            previous.Disconnect(ReasonCode.SessionTakenOver, "another connection took over the session");
            _disconnects.Detach(previous, "session taken over", publishWill: true);
            session = _sessions.Find(key); // a session that was not persistent ended with its connection
        }

        sessionPresent = false;
        if (session is not null && terms.CleanStart)
        {
            _wills.PublishNow(session); // the old session ends now, before its delayed will
            _sessions.End(session);
            session = null;
        }
        if (session is not null)
        {
            sessionPresent = true;
            WillPublisher.Cancel(session);
        }
        session ??= _sessions.Create(key, identity);

        bool wasStored = session.IsPersistent && sessionPresent;
        session.Attach(connection, identity, terms.ProtocolVersion, terms.ExpiryIntervalSeconds, terms.Will);
        _sessions.Save(session, wasStored);
        connection.AttachTo(session);
        return session;
    }

    /// <summary>Resends what was in flight to the session and sends what is queued for it (§4.4).</summary>
    public void Resume(Session session) => _sender.ResendInFlight(session);
}

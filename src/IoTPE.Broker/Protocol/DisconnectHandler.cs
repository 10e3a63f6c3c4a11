using IoTPE.Broker.Connections;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Protocol;

/// <summary>
/// The end of a connection (MQTT 5.0 §3.14, §4.13): a DISCONNECT from the client, a lost
/// connection, or a takeover. Detaches the session, publishes or schedules the will, and ends a
/// session that is not persistent. Used under the broker lock.
/// </summary>
internal sealed class DisconnectHandler
{
    private readonly BrokerState _state;
    private readonly SessionRegistry _sessions;
    private readonly WillPublisher _wills;

    public DisconnectHandler(BrokerState state, SessionRegistry sessions, WillPublisher wills)
    {
        _state = state;
        _sessions = sessions;
        _wills = wills;
    }

    /// <summary>DISCONNECT from the client. Always ends the connection (returns false).</summary>
    public bool Handle(NetworkConnection connection, DisconnectPacket packet)
    {
        Session session = connection.Session!;
        if (connection.ProtocolVersion == MqttProtocolVersion.V500)
        {
            if (packet.SessionExpiryInterval is { } expiry)
            {
                if (session.ExpiryIntervalSeconds == 0 && expiry != 0)
                {
                    // §3.14.2.2.2: a session that was to end at disconnect cannot be made persistent now.
                    connection.ProtocolViolation(ReasonCode.ProtocolError, "Session Expiry Interval set in DISCONNECT after 0 in CONNECT");
                    return false;
                }
                bool wasStored = session.IsPersistent;
                session.ChangeExpiry(Math.Min(expiry, _state.Options.MaxSessionExpiryInterval));
                _sessions.Save(session, wasStored);
            }
            if (packet.ReasonCode != ReasonCode.DisconnectWithWillMessage)
            {
                WillPublisher.Cancel(session);
            }
        }
        else
        {
            WillPublisher.Cancel(session); // §3.14.4: a normal DISCONNECT discards the will.
        }
        Detach(connection, "client sent DISCONNECT", publishWill: true);
        connection.CloseAfterFlush();
        return false;
    }

    /// <summary>The connection's read loop ended, for whatever reason.</summary>
    public void OnConnectionLost(NetworkConnection connection, string reason)
    {
        _state.RemoveConnection(connection);
        if (connection.Session is { } session && ReferenceEquals(session.Connection, connection))
        {
            Detach(connection, reason, publishWill: true);
        }
    }

    /// <summary>Separates the session from its connection, network or in-process; ends it unless it is persistent.</summary>
    public void Detach(IClientConnection connection, string reason, bool publishWill)
    {
        if (connection.Session is not { } session)
        {
            return;
        }
        connection.DetachFromSession();
        if (!ReferenceEquals(session.Connection, connection))
        {
            return;
        }
        session.Detach(_state.NowUnixMs);
        if (!session.Identity.IsInternal)
        {
            _state.Counters.ClientsConnected--; // $SYS counts network clients only
        }
        if (publishWill)
        {
            _wills.OnConnectionLost(session);
        }
        if (!session.IsPersistent)
        {
            _wills.PublishNow(session); // the session ends now, before any delayed will (§3.1.2.5)
            _sessions.End(session);
        }
        else
        {
            _sessions.Save(session, wasStored: true);
        }
        _state.Log.ClientDisconnected(session.ClientId, reason);
    }
}

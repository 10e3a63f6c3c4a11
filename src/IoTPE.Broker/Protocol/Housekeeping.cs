using IoTPE.Broker.Connections;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Protocol;

/// <summary>
/// What happens with time rather than packets, once a second: keep-alive (MQTT 5.0 §3.1.2.10:
/// one and a half times the Keep Alive without a packet ends the connection), CONNECT timeouts,
/// delayed wills, session expiry (§4.1), the $SYS counters, memory given back after a wave of
/// connections has gone (<see cref="MemoryRelease"/>), and spilled queues the store could not read.
/// </summary>
internal sealed class Housekeeping
{
    private readonly BrokerState _state;
    private readonly SessionRegistry _sessions;
    private readonly WillPublisher _wills;
    private readonly SysTopicPublisher _sys;
    private readonly DeliverySender _sender;
    private readonly List<Session> _scratch = [];
    private readonly MemoryRelease _memory = new();
    private long? _lastSysAt;

    public Housekeeping(BrokerState state, SessionRegistry sessions, WillPublisher wills, SysTopicPublisher sys, DeliverySender sender)
    {
        _sender = sender;
        _state = state;
        _sessions = sessions;
        _wills = wills;
        _sys = sys;
    }

    /// <summary>One round. Called under the broker lock.</summary>
    public void Tick()
    {
        _memory.Observe(_state.Connections.Count);
        _sender.RetryUnreadDeliveries();
        foreach (NetworkConnection connection in _state.Connections)
        {
            if (connection.IsClosing)
            {
                continue;
            }
            if (connection.Phase != ConnectionPhase.Connected)
            {
                if (_state.Time.GetElapsedTime(connection.AcceptedAt) > TimeSpan.FromSeconds(_state.Options.ConnectTimeoutSeconds))
                {
                    _state.Log.ConnectionRejected(connection.RemoteEndPoint, "no CONNECT in time");
                    connection.CloseAfterFlush();
                }
            }
            else if (connection.KeepAliveSeconds > 0 && _state.Time.GetElapsedTime(connection.LastReceivedAt) > TimeSpan.FromSeconds(connection.KeepAliveSeconds * 1.5))
            {
                connection.ProtocolViolation(ReasonCode.KeepAliveTimeout, $"no packet within 1.5 x keep alive ({connection.KeepAliveSeconds} s)");
            }
        }

        long now = _state.NowUnixMs;
        _scratch.Clear();
        _scratch.AddRange(_state.Sessions.Values);
        foreach (Session session in _scratch)
        {
            if (session.WillDueAtUnixMs is { } due && due <= now)
            {
                _wills.PublishNow(session);
            }
            if (!session.IsConnected && session.IsPersistent && session.ExpiryIntervalSeconds != uint.MaxValue &&
                session.DisconnectedAtUnixMs is { } since && since + session.ExpiryIntervalSeconds * 1000L <= now)
            {
                _wills.PublishNow(session);
                _sessions.End(session);
                _state.Log.SessionExpired(session.ClientId);
            }
        }
        _scratch.Clear();

        if (_state.Options.SysInterval > 0 &&
            (_lastSysAt is not { } last || _state.Time.GetElapsedTime(last) >= TimeSpan.FromSeconds(_state.Options.SysInterval)))
        {
            _lastSysAt = _state.Time.GetTimestamp();
            _sys.PublishAll();
        }
    }
}

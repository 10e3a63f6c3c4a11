using IoTPE.Broker.Routing;
using IoTPE.Broker.Sessions;

namespace IoTPE.Broker.Protocol;

/// <summary>
/// Publishes a session's Will Message (MQTT 5.0 §3.1.2.5): when its connection ends without a
/// normal DISCONNECT, after the Will Delay Interval, or when the session ends first.
/// </summary>
internal sealed class WillPublisher
{
    private readonly BrokerState _state;
    private readonly MessageRouter _router;
    private readonly RetainedMessages _retained;

    public WillPublisher(BrokerState state, MessageRouter router, RetainedMessages retained)
    {
        _state = state;
        _router = router;
        _retained = retained;
    }

    /// <summary>The connection ended abnormally: publish now, or schedule after the delay (capped by the session's expiry).</summary>
    public void OnConnectionLost(Session session)
    {
        if (session.Will is not { } will)
        {
            return;
        }
        uint delay = Math.Min(will.DelayIntervalSeconds, session.ExpiryIntervalSeconds);
        if (delay == 0)
        {
            PublishNow(session);
        }
        else
        {
            session.DelayWill(_state.NowUnixMs + delay * 1000L);
        }
    }

    /// <summary>The client came back before the delay passed: §3.1.3.2.2 says the will is not sent.</summary>
    public static void Cancel(Session session) => session.ClearWill();

    public void PublishNow(Session session)
    {
        if (session.Will is not { } will)
        {
            return;
        }
        session.ClearWill();
        // The will topic was authorized at CONNECT; check again, rights may have been revoked since.
        if (!_state.Authorizer.CanPublish(session.Identity, will.Message.Topic))
        {
            return;
        }
        ApplicationMessage message = will.Message;
        if (will.ExpiryIntervalSeconds is { } expiry)
        {
            message = new ApplicationMessage(message.Topic, message.TopicUtf8, message.Payload, message.QoS, message.Retain, message.Properties)
            {
                ExpiresAtUnixMs = _state.NowUnixMs + expiry * 1000L,
                PublisherClientId = message.PublisherClientId,
                PublisherUserName = message.PublisherUserName,
            };
        }
        if (message.Retain)
        {
            _retained.Update(message);
        }
        _router.Route(message);
    }
}

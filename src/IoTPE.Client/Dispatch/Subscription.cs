using IoTPE.Mqtt;

namespace IoTPE.Client.Dispatch;

/// <summary>A topic filter this client subscribed to, with what handles its messages.</summary>
internal sealed class Subscription
{
    public Subscription(string filter, QualityOfService qos, SubscriptionKind kind, DeliveryHandler handler)
    {
        Filter = filter;
        MatchFilter = SharedSubscription.TryParse(filter, out SharedSubscription shared) ? shared.TopicFilter : filter;
        QoS = qos;
        Kind = kind;
        Handler = handler;
    }

    /// <summary>The filter as sent in SUBSCRIBE (possibly "$share/group/...").</summary>
    public string Filter { get; }

    /// <summary>The filter that topic names are matched against (without a shared subscription's prefix).</summary>
    public string MatchFilter { get; }

    /// <summary>The maximum QoS requested.</summary>
    public QualityOfService QoS { get; }

    /// <summary>
    /// Asks the broker not to send this client the messages it published itself (MQTT 5.0 No Local, §3.8.3.1);
    /// a 3.1.1 broker has no such option and is not asked.
    /// </summary>
    public bool NoLocal { get; init; }

    /// <summary>How its messages are scheduled.</summary>
    public SubscriptionKind Kind { get; }

    /// <summary>What handles its messages.</summary>
    public DeliveryHandler Handler { get; }

    /// <summary>Whether the broker has granted it on the current session. Guarded by the session lock.</summary>
    public bool Acknowledged { get; set; }

    /// <summary>Whether <paramref name="topic"/> is one of this subscription's.</summary>
    public bool Matches(string topic) => TopicFilter.Matches(MatchFilter, topic);
}

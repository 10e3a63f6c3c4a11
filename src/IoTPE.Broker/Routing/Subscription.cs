using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Routing;

/// <summary>One session's subscription to one topic filter.</summary>
internal sealed class Subscription
{
    public Subscription(Session session, string topicFilter, string filter, string? shareName)
    {
        Session = session;
        TopicFilter = topicFilter;
        Filter = filter;
        ShareName = shareName;
    }

    public Session Session { get; }

    /// <summary>The filter as the client sent it, including a <c>$share/&lt;name&gt;/</c> prefix.</summary>
    public string TopicFilter { get; }

    /// <summary>The filter that is matched against topic names (without the share prefix).</summary>
    public string Filter { get; }

    /// <summary>The share name of a shared subscription, or null.</summary>
    public string? ShareName { get; }

    /// <summary>Maximum QoS, No Local, Retain As Published, Retain Handling (MQTT 5.0 §3.8.3.1).</summary>
    public SubscriptionOptions Options { get; set; }

    /// <summary>The Subscription Identifier, or 0 for none.</summary>
    public uint SubscriptionIdentifier { get; set; }

    /// <summary>The options as the MQTT 5.0 subscription options byte, as stored.</summary>
    public byte OptionsByte => Options.ToByte(MqttProtocolVersion.V500);

    /// <summary>Options from a stored options byte.</summary>
    public static SubscriptionOptions OptionsFromByte(byte options) => new(
        (QualityOfService)(options & 0x03),
        NoLocal: (options & 0x04) != 0,
        RetainAsPublished: (options & 0x08) != 0,
        RetainHandling: (RetainHandling)((options >> 4) & 0x03));
}

namespace IoTPE.Bridge;

/// <summary>
/// How topics are named on each side of a bridge, as Mosquitto's bridge <c>topic</c> lines name them
/// (<c>topic PATTERN both 2 LOCAL_PREFIX REMOTE_PREFIX</c>), bridge-wide: the <c>forward</c> filter <c>F</c> is
/// subscribed locally as <c>localPrefix + F</c> and a local topic <c>localPrefix + T</c> is sent as
/// <c>remotePrefix + T</c>; the <c>receive</c> filter <c>R</c> is subscribed at the remote as <c>remotePrefix + R</c>
/// and a remote topic <c>remotePrefix + T</c> is published locally as <c>localPrefix + T</c>. Prefixes are joined as
/// written (no separator is added), so <c>remotePrefix</c> <c>"edge-7"</c> sends <c>/acme/x</c> as
/// <c>edge-7/acme/x</c>, and <c>"edge-7/"</c> sends <c>acme/x</c> as <c>edge-7/acme/x</c>. Empty prefixes (the
/// default) leave every topic as it is.
/// </summary>
public sealed class TopicMapping
{
    /// <summary>Creates the mapping; null prefixes are empty.</summary>
    public TopicMapping(string? localPrefix, string? remotePrefix)
    {
        LocalPrefix = localPrefix ?? "";
        RemotePrefix = remotePrefix ?? "";
    }

    /// <summary>What local topics start with (may be empty).</summary>
    public string LocalPrefix { get; }

    /// <summary>What remote topics start with (may be empty).</summary>
    public string RemotePrefix { get; }

    /// <summary>The local subscription of the <c>forward</c> filter <paramref name="filter"/>.</summary>
    public string LocalFilter(string filter) => LocalPrefix + filter;

    /// <summary>The remote subscription of the <c>receive</c> filter <paramref name="filter"/>.</summary>
    public string RemoteFilter(string filter) => RemotePrefix + filter;

    /// <summary>The remote name of the local topic <paramref name="localTopic"/> (matched by a local subscription).</summary>
    public string ToRemote(string localTopic) => Map(localTopic, LocalPrefix, RemotePrefix);

    /// <summary>The local name of the remote topic <paramref name="remoteTopic"/> (matched by a remote subscription).</summary>
    public string ToLocal(string remoteTopic) => Map(remoteTopic, RemotePrefix, LocalPrefix);

    private static string Map(string topic, string from, string to)
    {
        if (from.Length == 0 && to.Length == 0)
        {
            return topic;
        }
        if (topic.StartsWith(from, StringComparison.Ordinal))
        {
            return string.Concat(to, topic.AsSpan(from.Length));
        }
        // "p/#" also matches "p" itself (MQTT 5.0 §4.7.1.2): the prefix's level without its separator maps to the
        // other prefix's level.
        if (from.EndsWith('/') && topic.Length == from.Length - 1 && from.StartsWith(topic, StringComparison.Ordinal))
        {
            string level = to.EndsWith('/') ? to[..^1] : to;
            return level.Length > 0 ? level : topic;
        }
        return topic;
    }
}

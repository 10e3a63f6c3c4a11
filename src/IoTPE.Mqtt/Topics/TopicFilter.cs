namespace IoTPE.Mqtt;

/// <summary>
/// Topic Filter rules and matching (spec 4.7). '+' matches exactly one level and '#' the parent level and any
/// number of child levels; both must occupy a whole level and '#' must be the last one [MQTT-4.7.1-1, 4.7.1-2].
/// A filter starting with a wildcard does not match a topic name starting with '$' [MQTT-4.7.2-1].
/// Filters beginning "$share/" are shared subscriptions (spec 4.8.2) and are checked with <see cref="SharedSubscription"/>.
/// </summary>
public static class TopicFilter
{
    /// <summary>The single-level wildcard.</summary>
    public const char SingleLevelWildcard = '+';

    /// <summary>The multi-level wildcard.</summary>
    public const char MultiLevelWildcard = '#';

    /// <summary>
    /// Whether <paramref name="filter"/> is a valid Topic Filter: a valid MQTT string, not empty, wildcards only as
    /// whole levels with '#' last; a filter starting with "$share/" must also be a valid shared subscription.
    /// </summary>
    /// <param name="filter">The topic filter, possibly a shared subscription.</param>
    public static bool IsValid(string filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (!MqttString.TryGetByteCount(filter, out _))
        {
            return false;
        }

        return SharedSubscription.IsShared(filter)
            ? SharedSubscription.TryParse(filter, out _)
            : HasValidSyntax(filter.AsSpan());
    }

    /// <summary>The UTF-8 form of <see cref="IsValid(string)"/>.</summary>
    /// <param name="utf8Filter">The topic filter's UTF-8 bytes, without the length prefix.</param>
    public static bool IsValid(ReadOnlySpan<byte> utf8Filter)
    {
        if (utf8Filter.Length > MqttString.MaxByteCount || !MqttString.IsValid(utf8Filter))
        {
            return false;
        }

        if (utf8Filter.StartsWith("$share/"u8))
        {
            ReadOnlySpan<byte> rest = utf8Filter[SharedSubscription.Prefix.Length..];
            int separator = rest.IndexOf((byte)'/');
            return separator > 0 &&
                rest[..separator].IndexOfAny((byte)'+', (byte)'#') < 0 &&
                HasValidSyntax(rest[(separator + 1)..], (byte)'/', (byte)'+', (byte)'#');
        }

        return HasValidSyntax(utf8Filter, (byte)'/', (byte)'+', (byte)'#');
    }

    /// <summary>Whether the filter contains '+' or '#'.</summary>
    /// <param name="filter">The topic filter.</param>
    public static bool HasWildcards(string filter) => filter.AsSpan().IndexOfAny(SingleLevelWildcard, MultiLevelWildcard) >= 0;

    /// <summary>
    /// Whether <paramref name="filter"/> matches <paramref name="topicName"/> (spec 4.7). Both are assumed valid; pass
    /// the filter part of a shared subscription, not the "$share/name/" prefix.
    /// </summary>
    /// <param name="filter">A topic filter, e.g. "sport/+/player1" or "sport/#".</param>
    /// <param name="topicName">A topic name, e.g. "sport/tennis/player1".</param>
    public static bool Matches(string filter, string topicName)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(topicName);
        return Matches(filter.AsSpan(), topicName.AsSpan(), '/', '+', '#', '$');
    }

    /// <summary>The UTF-8 form of <see cref="Matches(string, string)"/>, for topic names straight from a PUBLISH.</summary>
    /// <param name="utf8Filter">The topic filter's UTF-8 bytes.</param>
    /// <param name="utf8TopicName">The topic name's UTF-8 bytes.</param>
    public static bool Matches(ReadOnlySpan<byte> utf8Filter, ReadOnlySpan<byte> utf8TopicName) =>
        Matches(utf8Filter, utf8TopicName, (byte)'/', (byte)'+', (byte)'#', (byte)'$');

    /// <summary>Wildcards only as whole levels, '#' only last, not empty (spec 4.7.1, 4.7.3).</summary>
    internal static bool HasValidSyntax(ReadOnlySpan<char> filter) => HasValidSyntax(filter, '/', '+', '#');

    private static bool HasValidSyntax<T>(ReadOnlySpan<T> filter, T separator, T single, T multi)
        where T : IEquatable<T>
    {
        if (filter.IsEmpty)
        {
            return false;
        }

        while (true)
        {
            int end = filter.IndexOf(separator);
            ReadOnlySpan<T> level = end < 0 ? filter : filter[..end];
            if (level.Length == 1 && level[0].Equals(multi))
            {
                return end < 0;
            }

            if (level.IndexOfAny(single, multi) >= 0 && !(level.Length == 1 && level[0].Equals(single)))
            {
                return false;
            }

            if (end < 0)
            {
                return true;
            }

            filter = filter[(end + 1)..];
        }
    }

    private static bool Matches<T>(ReadOnlySpan<T> filter, ReadOnlySpan<T> topic, T separator, T single, T multi, T dollar)
        where T : IEquatable<T>
    {
        if (filter.IsEmpty || topic.IsEmpty)
        {
            return false;
        }

        // [MQTT-4.7.2-1]: '$' topics are not matched by filters starting with a wildcard.
        if (topic[0].Equals(dollar) && (filter[0].Equals(single) || filter[0].Equals(multi)))
        {
            return false;
        }

        while (true)
        {
            int filterEnd = filter.IndexOf(separator);
            ReadOnlySpan<T> filterLevel = filterEnd < 0 ? filter : filter[..filterEnd];
            if (filterLevel.Length == 1 && filterLevel[0].Equals(multi))
            {
                return true;
            }

            int topicEnd = topic.IndexOf(separator);
            ReadOnlySpan<T> topicLevel = topicEnd < 0 ? topic : topic[..topicEnd];
            if (!(filterLevel.Length == 1 && filterLevel[0].Equals(single)) && !filterLevel.SequenceEqual(topicLevel))
            {
                return false;
            }

            if (filterEnd < 0)
            {
                return topicEnd < 0;
            }

            filter = filter[(filterEnd + 1)..];
            if (topicEnd < 0)
            {
                // The topic has no more levels: only a trailing "#" still matches ("sport/#" matches "sport").
                return filter.Length == 1 && filter[0].Equals(multi);
            }

            topic = topic[(topicEnd + 1)..];
        }
    }
}

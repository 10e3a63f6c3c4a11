namespace IoTPE.Mqtt;

/// <summary>
/// A shared subscription (spec 4.8.2): "$share/{ShareName}/{filter}". The ShareName is at least one character and
/// holds no '/', '+' or '#'; the filter after it is a valid, non-empty Topic Filter [MQTT-4.8.2-1, 4.8.2-2].
/// </summary>
/// <param name="ShareName">The share name (the group of sessions sharing the subscription).</param>
/// <param name="TopicFilter">The topic filter used for matching.</param>
public readonly record struct SharedSubscription(string ShareName, string TopicFilter)
{
    /// <summary>The prefix that makes a filter a shared subscription.</summary>
    public const string Prefix = "$share/";

    /// <summary>Whether the filter starts with "$share/" (and so must be a valid shared subscription).</summary>
    /// <param name="filter">A topic filter as sent in SUBSCRIBE or UNSUBSCRIBE.</param>
    public static bool IsShared(string filter) => filter.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Splits a valid shared subscription filter into share name and topic filter.</summary>
    /// <param name="filter">A topic filter as sent in SUBSCRIBE or UNSUBSCRIBE.</param>
    /// <param name="subscription">The parts, when valid.</param>
    /// <returns>False when the filter is not a shared subscription or is an invalid one.</returns>
    public static bool TryParse(string filter, out SharedSubscription subscription)
    {
        ArgumentNullException.ThrowIfNull(filter);
        subscription = default;
        if (!IsShared(filter))
        {
            return false;
        }

        ReadOnlySpan<char> rest = filter.AsSpan(Prefix.Length);
        int separator = rest.IndexOf('/');
        if (separator <= 0)
        {
            return false;
        }

        ReadOnlySpan<char> shareName = rest[..separator];
        ReadOnlySpan<char> topicFilter = rest[(separator + 1)..];
        if (shareName.IndexOfAny('+', '#') >= 0 || !global::IoTPE.Mqtt.TopicFilter.HasValidSyntax(topicFilter) || !MqttString.TryGetByteCount(filter, out _))
        {
            return false;
        }

        subscription = new SharedSubscription(shareName.ToString(), topicFilter.ToString());
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => Prefix + ShareName + "/" + TopicFilter;
}

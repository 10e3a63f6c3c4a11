namespace IoTPE.Mqtt;

/// <summary>
/// Topic Name rules (spec 4.7): at least one character, at most 65,535 UTF-8 bytes, a valid MQTT string
/// (spec 1.5.4) and no wildcard characters '+' or '#' [MQTT-4.7.0-1, MQTT-4.7.3-1, MQTT-3.3.2-2].
/// </summary>
public static class TopicName
{
    /// <summary>The topic level separator.</summary>
    public const char LevelSeparator = '/';

    /// <summary>Whether <paramref name="topicName"/> is a valid Topic Name.</summary>
    /// <param name="topicName">The topic name.</param>
    public static bool IsValid(string topicName)
    {
        ArgumentNullException.ThrowIfNull(topicName);
        return topicName.Length > 0 &&
            topicName.AsSpan().IndexOfAny('+', '#') < 0 &&
            MqttString.TryGetByteCount(topicName, out _);
    }

    /// <summary>Whether the UTF-8 bytes <paramref name="utf8TopicName"/> form a valid Topic Name.</summary>
    /// <param name="utf8TopicName">The topic name's UTF-8 bytes, without the length prefix.</param>
    public static bool IsValid(ReadOnlySpan<byte> utf8TopicName) =>
        !utf8TopicName.IsEmpty &&
        utf8TopicName.Length <= MqttString.MaxByteCount &&
        !ContainsWildcard(utf8TopicName) &&
        MqttString.IsValid(utf8TopicName);

    /// <summary>Whether the topic starts with '$' (e.g. $SYS/...): wildcard-led filters do not match it (spec 4.7.2).</summary>
    /// <param name="topicName">The topic name.</param>
    public static bool IsDollarTopic(string topicName) => topicName is ['$', ..];

    /// <summary>Whether the UTF-8 topic starts with '$' (spec 4.7.2).</summary>
    /// <param name="utf8TopicName">The topic name's UTF-8 bytes.</param>
    public static bool IsDollarTopic(ReadOnlySpan<byte> utf8TopicName) => utf8TopicName is [(byte)'$', ..];

    /// <summary>Whether the UTF-8 bytes hold '+' or '#' (neither byte occurs inside a multi-byte UTF-8 sequence).</summary>
    internal static bool ContainsWildcard(ReadOnlySpan<byte> utf8) => utf8.IndexOfAny((byte)'+', (byte)'#') >= 0;
}

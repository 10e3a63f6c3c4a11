namespace IoTPE.Broker;

/// <summary>
/// Limits the bytes of retained messages held under parts of the topic tree, e.g. an account's
/// namespace <c>/&lt;account&gt;/...</c>: a retained message that would take its part beyond the limit is
/// refused (MQTT 5.0: reason code 0x97 Quota exceeded). The broker counts the bytes (topic and
/// payload, UTF-8) per topic level, so the check is quick; the port only says which part a topic
/// falls in and how much that part may hold. Called under the broker lock: answer from memory.
/// </summary>
public interface IRetainedQuota
{
    /// <summary>
    /// Whether retained messages on <paramref name="topicName"/> are limited, and if so the topic
    /// whose retained messages — its own and every one below it — share the limit (e.g. <c>/alice</c>
    /// for <c>/alice/config</c>) and how many bytes they may take together.
    /// </summary>
    bool TryGetLimit(string topicName, out string namespaceTopic, out long maxBytes);
}

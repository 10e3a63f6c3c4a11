namespace IoTPE.Broker.Connections;

/// <summary>
/// The topic aliases a client set towards the broker on one connection (MQTT 5.0 §3.3.2.3.4):
/// owned by the connection and gone with it, as the specification scopes them. Used under the broker lock.
/// </summary>
internal sealed class IncomingTopicAliases
{
    private Dictionary<ushort, string>? _topics;

    /// <summary>The topic <paramref name="alias"/> stands for, if the client set it.</summary>
    public bool TryResolve(ushort alias, out string topic)
    {
        if (_topics is not null && _topics.TryGetValue(alias, out string? known))
        {
            topic = known;
            return true;
        }
        topic = string.Empty;
        return false;
    }

    /// <summary>A PUBLISH with a topic name and an alias sets (or replaces) the alias.</summary>
    public void Set(ushort alias, string topic) => (_topics ??= [])[alias] = topic;
}

using IoTPE.Mqtt;

namespace IoTPE.Broker.Routing;

/// <summary>
/// Keeps the retained message of each topic (MQTT 5.0 §3.3.1.3) in memory and in the store:
/// a retained PUBLISH replaces the topic's message, an empty one removes it. Used under the broker lock.
/// </summary>
internal sealed class RetainedMessages
{
    private readonly BrokerState _state;

    public RetainedMessages(BrokerState state)
    {
        _state = state;
    }

    /// <summary>Applies a PUBLISH with RETAIN set.</summary>
    public void Update(ApplicationMessage message)
    {
        if (TopicName.IsDollarTopic(message.Topic))
        {
            // The broker's own $SYS messages are recomputed after a restart, never stored.
            _state.Retained.Set(message);
            _state.Counters.RetainedMessages = _state.Retained.Count;
            return;
        }
        ApplicationMessage? previous;
        if (message.Payload.IsEmpty)
        {
            // §3.3.1.3: a retained message with an empty payload removes the topic's retained message.
            previous = _state.Retained.Remove(message.Topic);
            if (previous is not null)
            {
                _state.Store.ClearRetained(message.Topic);
            }
        }
        else
        {
            _state.Durability.EnsureStored(message);
            message.StoreReferences++;
            previous = _state.Retained.Set(message);
            _state.Store.SetRetained(message.Topic, message.StoreId);
        }
        if (previous is not null)
        {
            _state.Durability.Dereference(previous);
        }
        _state.Counters.RetainedMessages = _state.Retained.Count;
    }

    /// <summary>Adds the retained messages matching <paramref name="filter"/> that have not expired, dropping expired ones.</summary>
    public void Match(string filter, List<ApplicationMessage> results)
    {
        int start = results.Count;
        _state.Retained.Match(filter, results);
        long now = _state.NowUnixMs;
        for (int i = results.Count - 1; i >= start; i--)
        {
            if (results[i].ExpiresAtUnixMs is { } expiry && expiry <= now)
            {
                ApplicationMessage expired = results[i];
                results.RemoveAt(i);
                if (_state.Retained.Remove(expired.Topic) is { } removed)
                {
                    _state.Store.ClearRetained(removed.Topic);
                    _state.Durability.Dereference(removed);
                }
            }
        }
        _state.Counters.RetainedMessages = _state.Retained.Count;
    }
}

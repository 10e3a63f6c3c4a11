using IoTPE.Broker.Monitoring;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Routing;

/// <summary>
/// Keeps the retained message of each topic (MQTT 5.0 §3.3.1.3) in memory and in the store:
/// a retained PUBLISH replaces the topic's message, an empty one removes it; one that would take
/// its part of the tree beyond its <see cref="IRetainedQuota"/> is refused. Used under the broker lock.
/// </summary>
internal sealed class RetainedMessages
{
    private readonly BrokerState _state;

    public RetainedMessages(BrokerState state)
    {
        _state = state;
    }

    /// <summary>
    /// Whether a retained message of <paramref name="payloadLength"/> bytes on <paramref name="topic"/>
    /// fits its part's quota, counting the message it would replace as freed. Removing (an empty
    /// payload) always fits.
    /// </summary>
    public bool WithinQuota(string topic, int topicBytes, int payloadLength)
    {
        if (payloadLength == 0 || _state.RetainedQuota is not { } quota || !quota.TryGetLimit(topic, out string root, out long maxBytes))
        {
            return true;
        }
        long replaced = _state.Retained.Get(topic) is { } previous ? RetainedMessageTree.SizeOf(previous) : 0;
        return _state.Retained.BytesUnder(root) - replaced + topicBytes + payloadLength <= maxBytes;
    }

    /// <summary>
    /// Applies a PUBLISH with RETAIN set. Returns false, keeping the previous retained message, when
    /// the message does not fit its quota (<see cref="WithinQuota"/>); that is counted and logged.
    /// </summary>
    public bool Update(ApplicationMessage message)
    {
        if (TopicName.IsDollarTopic(message.Topic))
        {
            // The broker's own $SYS messages are recomputed after a restart, never stored.
            _state.Retained.Set(message);
            _state.Counters.RetainedMessages = _state.Retained.Count;
            return true;
        }
        if (!WithinQuota(message.Topic, message.TopicUtf8.Length, message.PayloadLength))
        {
            _state.Counters.PublishesRefused++;
            _state.Log.RetainedQuotaExceeded(message.PublisherClientId ?? "(broker)", message.Topic);
            return false;
        }
        ApplicationMessage? previous;
        if (message.PayloadLength == 0)
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
        return true;
    }

    /// <summary>Removes the retained messages of <paramref name="topic"/> and of every topic below it; returns how many.</summary>
    public int RemoveUnder(string topic)
    {
        var found = new List<ApplicationMessage>();
        _state.Retained.CollectUnder(topic, found);
        foreach (ApplicationMessage message in found)
        {
            if (_state.Retained.Remove(message.Topic) is { } removed)
            {
                _state.Store.ClearRetained(removed.Topic);
                _state.Durability.Dereference(removed);
            }
        }
        _state.Counters.RetainedMessages = _state.Retained.Count;
        return found.Count;
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

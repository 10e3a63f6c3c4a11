using System.Globalization;

namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>What a handler received, thread-safe, with waits (woken by each arrival) for what a test expects.</summary>
public sealed class MessageLog
{
    private readonly SignalledList<MqttMessage> _messages = new();

    public int Count => _messages.Count;

    public IReadOnlyList<MqttMessage> Messages => _messages.Items;

    /// <summary>The payloads as text, in arrival order.</summary>
    public IReadOnlyList<string> Payloads => Messages.Select(m => m.GetPayloadAsString()).ToList();

    /// <summary>The payloads as numbers, in arrival order.</summary>
    public IReadOnlyList<int> Numbers => Payloads.Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToList();

    /// <summary>A handler that records every message.</summary>
    public ValueTask Handler(MqttMessage message, CancellationToken cancellationToken)
    {
        Add(message);
        return ValueTask.CompletedTask;
    }

    public void Add(MqttMessage message) => _messages.Add(message);

    /// <summary>Waits until at least <paramref name="count"/> messages arrived; false on timeout.</summary>
    public Task<bool> WaitForCountAsync(int count, TimeSpan? timeout = null) =>
        _messages.WaitUntilAsync(messages => messages.Count >= count, timeout);

    /// <summary>Waits until <paramref name="condition"/> holds; false on timeout.</summary>
    public Task<bool> WaitUntilAsync(Func<IReadOnlyList<MqttMessage>, bool> condition, TimeSpan? timeout = null) =>
        _messages.WaitUntilAsync(condition, timeout);

    /// <summary>
    /// Waits for a message with <paramref name="payload"/>: a sentinel published after the messages a test checks, so
    /// that (messages in order) everything before it, a wrong duplicate included, has arrived; false on timeout.
    /// </summary>
    public Task<bool> WaitForPayloadAsync(string payload, TimeSpan? timeout = null) =>
        _messages.WaitUntilAsync(messages => messages.Any(m => m.GetPayloadAsString() == payload), timeout);
}

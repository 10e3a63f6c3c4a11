using System.Globalization;

namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>What a handler received, thread-safe, with waits for what a test expects.</summary>
public sealed class MessageLog
{
    private readonly List<MqttMessage> _messages = [];

    public int Count
    {
        get
        {
            lock (_messages)
            {
                return _messages.Count;
            }
        }
    }

    public IReadOnlyList<MqttMessage> Messages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages];
            }
        }
    }

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

    public void Add(MqttMessage message)
    {
        lock (_messages)
        {
            _messages.Add(message);
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> messages arrived; false on timeout.</summary>
    public async Task<bool> WaitForCountAsync(int count, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }

    /// <summary>Waits until <paramref name="condition"/> holds; false on timeout.</summary>
    public async Task<bool> WaitUntilAsync(Func<IReadOnlyList<MqttMessage>, bool> condition, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!condition(Messages))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(10);
        }

        return true;
    }
}

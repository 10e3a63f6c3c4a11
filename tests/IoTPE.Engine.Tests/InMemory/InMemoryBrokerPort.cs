using IoTPE.Broker;
using IoTPE.Mqtt;

namespace IoTPE.Engine.Tests.InMemory;

/// <summary>
/// The broker as the engine sees it (<see cref="IBrokerPort"/>), in memory: it records what the engine
/// publishes and acknowledges, in one ordered log, and lets a test deliver requests to the engine's
/// durable session. No sockets, no store.
/// </summary>
internal sealed class InMemoryBrokerPort : IBrokerPort, IUserDataRemoval
{
    private readonly Lock _sync = new();
    private readonly List<PortEvent> _events = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Action<InternalDelivery>? _onDelivery;
    private ushort _nextPacketIdentifier;
    private long _nextStoreId;

    /// <summary>The engine's subscriptions.</summary>
    public List<string> Subscriptions { get; } = [];

    /// <summary>Everything published and acknowledged so far, in order.</summary>
    public IReadOnlyList<PortEvent> Events
    {
        get
        {
            lock (_sync)
            {
                return [.. _events];
            }
        }
    }

    public PublishOutcome TryPublish(ApplicationMessage message)
    {
        Record(new PortEvent(PortEventKind.Published, message.Topic, message, null));
        return PublishOutcome.Published;
    }

    public ReasonCode Publish(ApplicationMessage message)
    {
        Record(new PortEvent(PortEventKind.Published, message.Topic, message, null));
        return ReasonCode.Success;
    }

    public IDurableSession ConnectDurableSession(string clientId, int maxInFlight, Action<InternalDelivery> onDelivery, bool receiveBeforeCommit)
    {
        _onDelivery = onDelivery;
        return new Session(this, clientId);
    }

    public Task<(int Sessions, int Retained)> RemoveUserDataAsync(string userName, string namespaceTopic) => Task.FromResult((0, 0));

    /// <summary>Delivers a QoS 1 request to the engine's session, as the broker does once it is stored.</summary>
    public InternalDelivery Deliver(string topic, string payload, string? publisher = null, PublishProperties? properties = null)
    {
        InternalDelivery delivery;
        lock (_sync)
        {
            delivery = new InternalDelivery(
                new ApplicationMessage(topic, System.Text.Encoding.UTF8.GetBytes(payload), QualityOfService.AtLeastOnce, retain: false, properties)
                {
                    PublisherUserName = publisher,
                    PublisherClientId = publisher,
                },
                QualityOfService.AtLeastOnce, ++_nextPacketIdentifier, Redelivered: false)
            { StoreId = ++_nextStoreId };
        }
        (_onDelivery ?? throw new InvalidOperationException("the engine has no session yet"))(delivery);
        return delivery;
    }

    /// <summary>Waits until the log satisfies <paramref name="condition"/>; the log at that moment.</summary>
    public async Task<IReadOnlyList<PortEvent>> WaitForAsync(Func<IReadOnlyList<PortEvent>, bool> condition, TimeSpan timeout)
    {
        using var expired = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            IReadOnlyList<PortEvent> events;
            lock (_sync)
            {
                changed = _changed.Task;
                events = [.. _events];
            }
            if (condition(events))
            {
                return events;
            }
            try
            {
                await changed.WaitAsync(expired.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("the engine did not get there in time; it published and acknowledged:\n" +
                    string.Join("\n", events.Select(e => e.ToString())));
            }
        }
    }

    private void Record(PortEvent portEvent)
    {
        TaskCompletionSource changed;
        lock (_sync)
        {
            _events.Add(portEvent);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    private sealed class Session(InMemoryBrokerPort port, string clientId) : IDurableSession
    {
        public string ClientId => clientId;

        public void Subscribe(string topicFilter, QualityOfService qos = QualityOfService.AtLeastOnce)
        {
            lock (port._sync)
            {
                port.Subscriptions.Add(topicFilter);
            }
        }

        public void Acknowledge(InternalDelivery delivery) =>
            port.Record(new PortEvent(PortEventKind.Acknowledged, delivery.Message.Topic, delivery.Message, delivery));
    }
}

/// <summary>What the engine did through the port.</summary>
internal enum PortEventKind
{
    Published,
    Acknowledged,
}

/// <summary>One thing the engine did through the port: a message it published, or a delivery it acknowledged.</summary>
internal sealed record PortEvent(PortEventKind Kind, string Topic, ApplicationMessage Message, InternalDelivery? Delivery)
{
    public string Payload => System.Text.Encoding.UTF8.GetString(Message.Payload.Span);

    public override string ToString() => $"{Kind} {Topic} {Payload}";
}

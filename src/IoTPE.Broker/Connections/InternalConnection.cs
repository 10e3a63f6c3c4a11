using IoTPE.Broker.Sessions;
using IoTPE.Broker.Storage;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Connections;

/// <summary>
/// The connection of an in-process client (the engine, the bridge): deliveries are handed over as
/// objects instead of being encoded, and acknowledged by a call. Only QoS 0 and 1 are used.
/// </summary>
/// <remarks>
/// Like a network connection's bytes, a pass's deliveries are handed over when the pass ends, after
/// the broker lock is released (<see cref="Flush"/>): the client's handler wakes the thread that
/// consumes them, and that thread usually runs at once on the waker's core. Woken inside the pass, it
/// found the broker lock held by the thread it had just preempted and spun for it (the engine's script
/// worker, on every other run at 100 runs/s).
/// </remarks>
internal sealed class InternalConnection : IClientConnection, IFlushable
{
    private readonly BrokerState _state;
    private readonly Action<InternalDelivery> _deliver;
    private readonly Queue<InternalDelivery> _handOver = new(); // guarded by itself
    private readonly Lock _handingOver = new(); // one flush at a time, so the client sees the broker's order
    private readonly int _queueBackpressureMessages;
    private readonly int _maxPendingAtMostOnce;
    private readonly ResidentPayloads _payloads;
    private int _pendingAtMostOnce;

    public InternalConnection(BrokerState state, int sendWindow, Action<InternalDelivery> deliver, int queueBackpressureMessages, int maxPendingAtMostOnce)
    {
        _state = state;
        _payloads = state.Payloads;
        SendWindow = sendWindow;
        _deliver = deliver;
        _queueBackpressureMessages = queueBackpressureMessages;
        _maxPendingAtMostOnce = maxPendingAtMostOnce;
    }

    public MqttProtocolVersion ProtocolVersion => MqttProtocolVersion.V500;

    public int SendWindow { get; }

    /// <summary>
    /// Whether this client takes QoS 1 deliveries before their commit, when its store can leave
    /// out what is acknowledged in time (<see cref="IBrokerStore.SkipsSettledWrites"/>): the engine,
    /// whose run requests are at-least-once anyway. See <see cref="DeliverySender.Enqueue"/>.
    /// </summary>
    public bool ReceivesBeforeCommit { get; init; }

    public Session? Session { get; private set; }

    /// <summary>Set under the broker lock; read without it by publishers waiting for this client, as for a network connection.</summary>
    public void AttachTo(Session session) => Session = session;

    public void DetachFromSession()
    {
        Session = null;
        Relief.Signal(); // a client that was taken over is not waited for
    }

    public int IncomingInFlight { get; private set; }

    public int AdmitIncoming() => ++IncomingInFlight;

    public void ReleaseIncoming() => IncomingInFlight--;

    // QoS 0 deliveries bypass the send window and the durable queue, so the ones handed over and
    // not yet acknowledged are counted: without a bound, a flood of QoS 0 requests to slow scripts
    // would grow the client's memory without end. Beyond the bound they are dropped, counted and
    // logged, as for a network subscriber whose output buffer is full.
    public bool AcceptsQoS0 => Volatile.Read(ref _pendingAtMostOnce) < _maxPendingAtMostOnce;

    // The engine falling behind (slow scripts) slows down the network clients that feed it, as a
    // slow subscriber does, before its queue reaches MaxQueuedMessages.
    public bool IsCongested =>
        Session is { } session && ReferenceEquals(session.Connection, this) &&
        (session.QueuedCount >= _queueBackpressureMessages || Volatile.Read(ref _pendingAtMostOnce) >= _queueBackpressureMessages);

    public ConsumerRelief Relief { get; } = new();

    // Deliveries are handed over as objects: nothing is buffered here.
    public bool HoldsBackDeliveries => false;

    public void OnDrained()
    {
        if (Relief.HasWaiters && !IsCongested)
        {
            Relief.Signal();
        }
    }

    public bool SendPublish(ApplicationMessage message, ReadOnlyMemory<byte> payload, QualityOfService qos, bool retain, bool dup, ushort packetIdentifier, uint[]? subscriptionIdentifiers, long nowUnixMs)
    {
        if (qos == QualityOfService.AtMostOnce)
        {
            Interlocked.Increment(ref _pendingAtMostOnce);
        }
        // The client reads the payload later, on its own thread, outside the broker lock.
        _payloads.Pin(message, payload);
        lock (_handOver)
        {
            _handOver.Enqueue(new InternalDelivery(message, qos, packetIdentifier, dup) { StoreId = message.StoreId });
        }
        _state.MarkDirty(this);
        return true;
    }

    public bool IsMarkedDirty { get; set; }

    /// <summary>Hands the deliveries of the passes that ended so far to the client, in the order they were sent. Outside the broker lock.</summary>
    public void Flush()
    {
        // Two threads whose passes both sent here flush one after the other: the second hands over
        // what the first did not take, never ahead of it.
        lock (_handingOver)
        {
            while (true)
            {
                InternalDelivery? delivery;
                lock (_handOver)
                {
                    if (!_handOver.TryDequeue(out delivery))
                    {
                        return;
                    }
                }
                _deliver(delivery);
            }
        }
    }

    /// <summary>The client is done with a QoS 0 delivery (called without the broker lock).</summary>
    public void CompleteAtMostOnce()
    {
        if (Interlocked.Decrement(ref _pendingAtMostOnce) == _queueBackpressureMessages - 1)
        {
            // Just fell below the bound that pauses the publishers feeding this client.
            OnDrained();
        }
    }

    public void Send(IMqttPacket packet)
    {
        // Internal clients subscribe at QoS 0 or 1, so no PUBREL ever goes to them; control
        // packets have no meaning in-process.
    }

    public void Disconnect(ReasonCode reasonCode, string? reasonString)
    {
        // Nothing to send in-process: the client that was taken over finds out through InternalClient.
    }
}

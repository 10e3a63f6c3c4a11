namespace IoTPE.Broker.Monitoring;

/// <summary>
/// The broker's counters, published under <c>$SYS/broker/</c> as Mosquitto does. Fields changed
/// under the broker lock are plain; the byte counters are updated by I/O threads and use Interlocked.
/// </summary>
public sealed class BrokerCounters
{
    private long _bytesReceived;
    private long _bytesSent;

    /// <summary>Network clients connected now.</summary>
    public int ClientsConnected { get; internal set; }

    /// <summary>Most clients connected at once since start.</summary>
    public int ClientsMaximum { get; internal set; }

    /// <summary>Connections refused (authentication, limits, protocol errors before CONNACK).</summary>
    public long ConnectionsRefused { get; internal set; }

    /// <summary>PUBLISH packets received from clients.</summary>
    public long MessagesReceived { get; internal set; }

    /// <summary>PUBLISH packets sent to clients.</summary>
    public long MessagesSent { get; internal set; }

    /// <summary>Messages dropped: full queues, slow consumers at QoS 0, expired, oversized for the receiver.</summary>
    public long MessagesDropped { get; internal set; }

    /// <summary>PUBLISH packets refused (not authorized, invalid).</summary>
    public long PublishesRefused { get; internal set; }

    /// <summary>Retained messages held.</summary>
    public int RetainedMessages { get; internal set; }

    /// <summary>Subscriptions held.</summary>
    public int Subscriptions { get; internal set; }

    /// <summary>Sessions held (connected and persistent disconnected).</summary>
    public int Sessions { get; internal set; }

    /// <summary>Payload bytes of stored messages held in memory (bounded by <see cref="BrokerOptions.MaxResidentPayloadBytes"/>).</summary>
    public long ResidentPayloadBytes { get; internal set; }

    /// <summary>
    /// QoS 1/2 deliveries queued for persistent sessions that are held in the store only, beyond
    /// each session's window in memory (<see cref="BrokerOptions.MaxResidentDeliveriesPerSession"/>).
    /// </summary>
    public long SpilledDeliveries { get; internal set; }

    /// <summary>Stored messages whose payload left memory because the budget was reached.</summary>
    public long PayloadsPagedOut { get; internal set; }

    /// <summary>Payloads read back from the store to be sent.</summary>
    public long PayloadsReadBack { get; internal set; }

    /// <summary>Bytes received from clients.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Bytes sent to clients.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    internal void AddBytesReceived(int count) => Interlocked.Add(ref _bytesReceived, count);

    internal void AddBytesSent(int count) => Interlocked.Add(ref _bytesSent, count);
}

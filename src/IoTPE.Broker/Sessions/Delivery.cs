using IoTPE.Mqtt;

namespace IoTPE.Broker.Sessions;

/// <summary>One message on its way to one session at QoS 1 or 2 (MQTT 5.0 §4.3.2, §4.3.3).</summary>
internal sealed class Delivery
{
    public Delivery(ApplicationMessage message, long sequence, QualityOfService qos, bool retain, uint[]? subscriptionIdentifiers)
    {
        Message = message;
        Sequence = sequence;
        QoS = qos;
        Retain = retain;
        SubscriptionIdentifiers = subscriptionIdentifiers;
    }

    public ApplicationMessage Message { get; }

    /// <summary>Position in the session's outgoing queue. The packet identifier derives from it (see <see cref="PacketIdentifierFor"/>).</summary>
    public long Sequence { get; }

    public QualityOfService QoS { get; }

    public bool Retain { get; }

    public uint[]? SubscriptionIdentifiers { get; }

    public DeliveryState State { get; set; }

    /// <summary>
    /// The store commit this delivery waits for before it may go out (see <see cref="DurabilityTracker"/>);
    /// 0 when it waits for nothing. A delivery is queued as soon as the message is routed, to keep
    /// the order, but a QoS 2 message sent before its state is durable could be sent again after a crash.
    /// </summary>
    public long Epoch { get; set; }

    /// <summary>True when this delivery has a row in the store (its session is persistent).</summary>
    public bool Stored { get; set; }

    /// <summary>Counted in <see cref="ApplicationMessage.MemoryDeliveries"/> (a delivery without a stored row).</summary>
    public bool CountedInMemory { get; set; }

    /// <summary>Times the PUBLISH was sent (more than once means it was resent with DUP after a reconnect).</summary>
    public int Attempts { get; set; }

    public ushort PacketIdentifier => PacketIdentifierFor(Sequence);

    /// <summary>The account whose queue quota this delivery counts against (see <see cref="AccountQueueQuota"/>), or null.</summary>
    public string? ChargedAccount { get; set; }

    /// <summary>The session whose own <see cref="Session.QueueLimit"/> this delivery counts against, or null.</summary>
    public Session? ChargedSession { get; set; }

    /// <summary>The bytes it counts.</summary>
    public long ChargedBytes { get; set; }

    /// <summary>
    /// Packet identifiers cycle through 1..65535 with the sequence, so that a stored delivery keeps
    /// its identifier across a restart without a write per send (§4.4 asks for the same identifier
    /// when a PUBLISH is resent).
    /// </summary>
    public static ushort PacketIdentifierFor(long sequence) => (ushort)(sequence % 65535 + 1);
}

/// <summary>Where a QoS 1/2 delivery stands.</summary>
internal enum DeliveryState
{
    /// <summary>Waiting for its turn (the client's Receive Maximum) or for the client to connect.</summary>
    Queued,

    /// <summary>PUBLISH sent at QoS 1; waiting for PUBACK.</summary>
    AwaitingPubAck,

    /// <summary>PUBLISH sent at QoS 2; waiting for PUBREC.</summary>
    AwaitingPubRec,

    /// <summary>PUBREL sent; waiting for PUBCOMP.</summary>
    AwaitingPubComp,
}

using IoTPE.Mqtt;

namespace IoTPE.Client.Dispatch;

/// <summary>
/// A received message on its way through the handlers, with its acknowledgement state. QoS 2 deliveries have a row
/// in the <c>incoming</c> table (<see cref="InboxId"/>); QoS 0 and 1 deliveries live in memory only. The flags are
/// guarded by the session lock; the attempt bookkeeping belongs to the dispatcher.
/// </summary>
internal sealed class Delivery
{
    private List<Subscription>? _succeeded;
    private List<PublishPacket>? _replies;

    public Delivery(MqttMessage message, QualityOfService qos, ushort packetId, byte[]? stored)
    {
        Message = message;
        QoS = qos;
        PacketId = packetId;
        Stored = stored;
    }

    /// <summary>The message handed to handlers.</summary>
    public MqttMessage Message { get; }

    /// <summary>The QoS it arrived with (decides how it is acknowledged).</summary>
    public QualityOfService QoS { get; }

    /// <summary>The packet identifier the broker's session holds for it; 0 for QoS 0 or once detached.</summary>
    public ushort PacketId { get; set; }

    /// <summary>The stored PUBLISH (QoS 2, or a dead letter); null until needed for QoS 0/1.</summary>
    public byte[]? Stored { get; set; }

    /// <summary>The <c>incoming</c> row id; 0 until the row is committed (and always for QoS 0/1).</summary>
    public long InboxId { get; set; }

    /// <summary>QoS 2: the row is committed (PUBREC may go out).</summary>
    public bool Committed { get; set; }

    /// <summary>QoS 2: PUBREL arrived (or the packet identifier was detached), so the message may be handled.</summary>
    public bool Released { get; set; }

    /// <summary>Handed to the dispatcher (once).</summary>
    public bool Dispatched { get; set; }

    /// <summary>QoS 1: handled while disconnected; PUBACK is owed when the broker sends it again.</summary>
    public bool AcknowledgementOwed { get; set; }

    /// <summary>QoS 1: the broker marked it DUP, so an earlier connection (maybe an earlier run) may have handled it.</summary>
    public bool ResentByBroker { get; init; }

    /// <summary>Handler attempts started (for QoS 2 also those of earlier runs, read from the state file).</summary>
    public int Attempts { get; set; }

    /// <summary>When it started waiting for a matching subscription, if it is waiting.</summary>
    public long ParkedAtMs { get; set; }

    /// <summary>The subscriptions that handle it on this attempt.</summary>
    public IReadOnlyList<Subscription> Targets { get; set; } = [];

    /// <summary>Replies produced by handlers that succeeded on earlier attempts, sent once all handlers succeeded.</summary>
    public IReadOnlyList<PublishPacket> Replies => _replies ?? (IReadOnlyList<PublishPacket>)[];

    /// <summary>Whether <paramref name="subscription"/> already handled this message (it is not run again).</summary>
    public bool HasSucceeded(Subscription subscription) => _succeeded?.Contains(subscription) == true;

    /// <summary>Records that <paramref name="subscription"/> handled this message, with its replies.</summary>
    public void Succeeded(Subscription subscription, IReadOnlyList<PublishPacket>? replies)
    {
        (_succeeded ??= []).Add(subscription);
        if (replies is { Count: > 0 })
        {
            (_replies ??= []).AddRange(replies);
        }
    }
}

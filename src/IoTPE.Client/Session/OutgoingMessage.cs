using IoTPE.Client.Storage;
using IoTPE.Mqtt;

namespace IoTPE.Client.Session;

/// <summary>
/// A QoS 1/2 publish of this client between its commit to the <c>outgoing</c> table and its PUBACK/PUBCOMP.
/// Guarded by the session lock.
/// </summary>
internal sealed class OutgoingMessage
{
    public OutgoingMessage(string topic, QualityOfService qos, byte[] stored, string? messageId, TaskCompletionSource? completion)
    {
        Topic = topic;
        QoS = qos;
        Stored = stored;
        MessageId = messageId;
        Completion = completion ?? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The send order (the row's <c>seq</c>); 0 until committed.</summary>
    public long Seq { get; set; }

    /// <summary>The packet identifier; 0 until assigned.</summary>
    public ushort PacketId { get; set; }

    /// <summary>The topic (for logs and dead letters).</summary>
    public string Topic { get; }

    /// <summary>The QoS it was published with.</summary>
    public QualityOfService QoS { get; }

    /// <summary>The QoS it was last sent with (the broker's Maximum QoS may lower it).</summary>
    public QualityOfService SentQoS { get; set; }

    /// <summary>The stored PUBLISH.</summary>
    public byte[] Stored { get; }

    /// <summary>The application's identity for the message, if it gave one.</summary>
    public string? MessageId { get; }

    /// <summary>
    /// Completed at PUBACK/PUBCOMP (faulted if the broker refused it); for messages of an earlier run nobody waits on
    /// it unless the application publishes the same identity again.
    /// </summary>
    public TaskCompletionSource Completion { get; }

    /// <summary>Set by <see cref="OutgoingPublishes.Insert"/> when the identity was already stored or delivered, so no row was written.</summary>
    public PublishStatus Status { get; set; } = PublishStatus.Stored;

    /// <summary>With <see cref="PublishStatus.AlreadyStored"/>: the row of the earlier publish.</summary>
    public long EarlierSeq { get; set; }

    /// <summary>With <see cref="PublishStatus.AlreadyDelivered"/>: the broker's refusal of the earlier publish, if it refused it.</summary>
    public ReasonCode? EarlierRefusal { get; set; }

    /// <summary>PUBREC arrived and is committed: PUBREL is (re)sent instead of the PUBLISH.</summary>
    public bool Released { get; set; }

    /// <summary>PUBREC arrived and its commit is under way: nothing is (re)sent until it is done.</summary>
    public bool Releasing { get; set; }

    /// <summary>The flow is over (acknowledged or refused) and the row's deletion is under way.</summary>
    public bool Finishing { get; set; }

    /// <summary>It may have reached the broker before (sent on an earlier connection or by an earlier run): DUP is set.</summary>
    public bool MaybeSent { get; set; }

    /// <summary>The message from a row read back from the state file.</summary>
    public static OutgoingMessage FromRow(in OutgoingRow row, TaskCompletionSource? completion)
    {
        PublishPacket packet = StoredPublish.Decode(row.Packet);
        return new OutgoingMessage(packet.GetTopicName(), row.QoS, row.Packet, row.MessageId, completion)
        {
            Seq = row.Seq,
            PacketId = row.PacketId,
            Released = row.Released,
            MaybeSent = true,
        };
    }

    /// <summary>The PUBLISH to send now.</summary>
    public PublishPacket ToPacket(QualityOfService qos) => StoredPublish.Decode(Stored) with
    {
        PacketIdentifier = qos == QualityOfService.AtMostOnce ? (ushort)0 : PacketId,
        QoS = qos,
        Dup = MaybeSent && qos != QualityOfService.AtMostOnce,
    };
}

using IoTPE.Mqtt;

namespace IoTPE.Broker;

/// <summary>
/// A message delivered to an in-process client. At QoS 1 it stays in the client's durable queue
/// until <see cref="InternalClient.Acknowledge"/>: after a crash it is delivered again.
/// </summary>
/// <param name="Message">The message.</param>
/// <param name="QoS">The delivery's QoS.</param>
/// <param name="PacketIdentifier">Identifies the delivery for the acknowledgement (QoS 1).</param>
/// <param name="Redelivered">It may have been delivered before (after a restart).</param>
public sealed record InternalDelivery(ApplicationMessage Message, QualityOfService QoS, ushort PacketIdentifier, bool Redelivered)
{
    /// <summary>
    /// The message's id in the broker's store, the same across restarts while the delivery is
    /// queued (e.g. to note durably that its run started); 0 when the message is not stored.
    /// </summary>
    public long StoreId { get; init; }
}

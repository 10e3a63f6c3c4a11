using IoTPE.Mqtt;

namespace IoTPE.Client.Storage;

/// <summary>A row of the <c>outgoing</c> table.</summary>
/// <param name="Seq">The send order.</param>
/// <param name="PacketId">The packet identifier, 0 when none is assigned yet.</param>
/// <param name="QoS">The publish's QoS (1 or 2).</param>
/// <param name="Released">Whether PUBREC arrived (only PUBREL is left to do).</param>
/// <param name="Packet">The stored PUBLISH (see <see cref="StoredPublish"/>).</param>
/// <param name="MessageId">The application's identity for the message, if it gave one.</param>
internal readonly record struct OutgoingRow(long Seq, ushort PacketId, QualityOfService QoS, bool Released, byte[] Packet, string? MessageId);

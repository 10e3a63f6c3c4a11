using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>PUBACK (spec 3.4): QoS 1 publish acknowledgement.</summary>
public sealed class PubAckPacket : PublishAcknowledgementPacket
{
    /// <summary>Creates a PUBACK; set Reason String and User Properties (5.0) with an object initializer.</summary>
    /// <param name="packetIdentifier">The identifier being acknowledged; not 0.</param>
    /// <param name="reasonCode">The 5.0 reason code; ignored when encoding for 3.1.1.</param>
    public PubAckPacket(ushort packetIdentifier, ReasonCode reasonCode = ReasonCode.Success)
        : base(packetIdentifier, reasonCode)
    {
    }

    /// <inheritdoc />
    public override PacketType Type => PacketType.PubAck;

    /// <summary>Decodes a PUBACK frame, including the 5.0 short forms without reason code or properties.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.PubAck"/>.</param>
    /// <param name="version">The connection's protocol version.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid PUBACK.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out PubAckPacket? packet, out MqttDecodeError error) =>
        TryDecode(frame, version, PacketType.PubAck, static (identifier, reasonCode) => new PubAckPacket(identifier, reasonCode), out packet, out error);
}

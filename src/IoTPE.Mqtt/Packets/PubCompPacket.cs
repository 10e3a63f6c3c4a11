using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>PUBCOMP (spec 3.7): QoS 2 publish complete, part 3 of the QoS 2 handshake.</summary>
public sealed class PubCompPacket : PublishAcknowledgementPacket
{
    /// <summary>Creates a PUBCOMP; set Reason String and User Properties (5.0) with an object initializer.</summary>
    /// <param name="packetIdentifier">The identifier being acknowledged; not 0.</param>
    /// <param name="reasonCode">The 5.0 reason code; ignored when encoding for 3.1.1.</param>
    public PubCompPacket(ushort packetIdentifier, ReasonCode reasonCode = ReasonCode.Success)
        : base(packetIdentifier, reasonCode)
    {
    }

    /// <inheritdoc />
    public override PacketType Type => PacketType.PubComp;

    /// <summary>Decodes a PUBCOMP frame, including the 5.0 short forms without reason code or properties.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.PubComp"/>.</param>
    /// <param name="version">The connection's protocol version.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid PUBCOMP.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out PubCompPacket? packet, out MqttDecodeError error) =>
        TryDecode(frame, version, PacketType.PubComp, static (identifier, reasonCode) => new PubCompPacket(identifier, reasonCode), out packet, out error);
}

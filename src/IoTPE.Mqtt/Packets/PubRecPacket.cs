using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>PUBREC (spec 3.5): QoS 2 publish received, part 1 of the QoS 2 handshake.</summary>
public sealed class PubRecPacket : PublishAcknowledgementPacket
{
    /// <summary>Creates a PUBREC; set Reason String and User Properties (5.0) with an object initializer.</summary>
    /// <param name="packetIdentifier">The identifier being acknowledged; not 0.</param>
    /// <param name="reasonCode">The 5.0 reason code; ignored when encoding for 3.1.1.</param>
    public PubRecPacket(ushort packetIdentifier, ReasonCode reasonCode = ReasonCode.Success)
        : base(packetIdentifier, reasonCode)
    {
    }

    /// <inheritdoc />
    public override PacketType Type => PacketType.PubRec;

    /// <summary>Decodes a PUBREC frame, including the 5.0 short forms without reason code or properties.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.PubRec"/>.</param>
    /// <param name="version">The connection's protocol version.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid PUBREC.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out PubRecPacket? packet, out MqttDecodeError error) =>
        TryDecode(frame, version, PacketType.PubRec, static (identifier, reasonCode) => new PubRecPacket(identifier, reasonCode), out packet, out error);
}

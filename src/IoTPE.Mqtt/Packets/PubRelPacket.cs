using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>PUBREL (spec 3.6): QoS 2 publish release, part 2 of the QoS 2 handshake.</summary>
public sealed class PubRelPacket : PublishAcknowledgementPacket
{
    /// <summary>Creates a PUBREL; set Reason String and User Properties (5.0) with an object initializer.</summary>
    /// <param name="packetIdentifier">The identifier being acknowledged; not 0.</param>
    /// <param name="reasonCode">The 5.0 reason code; ignored when encoding for 3.1.1.</param>
    public PubRelPacket(ushort packetIdentifier, ReasonCode reasonCode = ReasonCode.Success)
        : base(packetIdentifier, reasonCode)
    {
    }

    /// <inheritdoc />
    public override PacketType Type => PacketType.PubRel;

    /// <summary>Decodes a PUBREL frame, including the 5.0 short forms without reason code or properties.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.PubRel"/>.</param>
    /// <param name="version">The connection's protocol version.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid PUBREL.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out PubRelPacket? packet, out MqttDecodeError error) =>
        TryDecode(frame, version, PacketType.PubRel, static (identifier, reasonCode) => new PubRelPacket(identifier, reasonCode), out packet, out error);
}

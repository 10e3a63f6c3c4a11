using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>PINGRESP (spec 3.13): the server's answer to PINGREQ. It has no variable header or payload, so one instance serves all.</summary>
public sealed class PingRespPacket : IMqttPacket
{
    private PingRespPacket()
    {
    }

    /// <summary>The only instance.</summary>
    public static PingRespPacket Instance { get; } = new();

    /// <inheritdoc />
    public PacketType Type => PacketType.PingResp;

    /// <summary>Decodes a PINGRESP frame: flags 0 and Remaining Length 0.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.PingResp"/>.</param>
    /// <param name="version">The connection's protocol version (the packet is the same in every version).</param>
    /// <param name="packet"><see cref="Instance"/>, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid PINGRESP.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out PingRespPacket? packet, out MqttDecodeError error)
    {
        packet = null;
        PacketBody.EnsureKnown(version);
        if (!PacketBody.CheckHeader(frame, PacketType.PingResp, out error))
        {
            return false;
        }

        if (frame.RemainingLength != 0)
        {
            error = DecodeErrors.NotEmpty;
            return false;
        }

        packet = Instance;
        return true;
    }

    /// <inheritdoc />
    public int GetEncodedSize(MqttProtocolVersion version) => 2;

    /// <inheritdoc />
    public int Encode(Span<byte> destination, MqttProtocolVersion version)
    {
        EncodedSize.EnsureDestination(destination, 2);
        destination[0] = (byte)PacketType.PingResp << 4;
        destination[1] = 0;
        return 2;
    }
}

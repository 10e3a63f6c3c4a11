using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>PINGREQ (spec 3.12): sent by the client to keep the connection alive. It has no variable header or payload, so one instance serves all.</summary>
public sealed class PingReqPacket : IMqttPacket
{
    private PingReqPacket()
    {
    }

    /// <summary>The only instance.</summary>
    public static PingReqPacket Instance { get; } = new();

    /// <inheritdoc />
    public PacketType Type => PacketType.PingReq;

    /// <summary>Decodes a PINGREQ frame: flags 0 and Remaining Length 0.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.PingReq"/>.</param>
    /// <param name="version">The connection's protocol version (the packet is the same in every version).</param>
    /// <param name="packet"><see cref="Instance"/>, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid PINGREQ.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out PingReqPacket? packet, out MqttDecodeError error)
    {
        packet = null;
        PacketBody.EnsureKnown(version);
        if (!PacketBody.CheckHeader(frame, PacketType.PingReq, out error))
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
        destination[0] = (byte)PacketType.PingReq << 4;
        destination[1] = 0;
        return 2;
    }
}

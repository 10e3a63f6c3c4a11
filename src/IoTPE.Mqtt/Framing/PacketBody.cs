using System.Buffers;

namespace IoTPE.Mqtt;

/// <summary>Access to a frame's body as one contiguous block, shared by the packet decoders.</summary>
internal static class PacketBody
{
    /// <summary>
    /// The body itself when it is one segment (a view: no copy), otherwise a single copy of it.
    /// </summary>
    public static ReadOnlyMemory<byte> GetContiguous(in PacketFrame frame)
    {
        ReadOnlySequence<byte> body = frame.Body;
        return body.IsSingleSegment ? body.First : body.ToArray();
    }

    /// <summary>Checks the frame's type and flags before decoding it as <paramref name="expected"/>.</summary>
    public static bool CheckHeader(in PacketFrame frame, PacketType expected, out MqttDecodeError error)
    {
        if (frame.Type != expected)
        {
            error = DecodeErrors.WrongPacketType;
            return false;
        }

        if (!PacketFramer.HasValidFlags(expected, frame.Flags))
        {
            error = DecodeErrors.InvalidFlags;
            return false;
        }

        error = default;
        return true;
    }

    /// <summary>Whether the version uses MQTT 5.0 encoding; 3.1 and 3.1.1 share one.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a <see cref="MqttProtocolVersion"/>.</exception>
    public static bool IsVersion5(MqttProtocolVersion version) => version switch
    {
        MqttProtocolVersion.V500 => true,
        MqttProtocolVersion.V311 or MqttProtocolVersion.V310 => false,
        _ => throw new ArgumentOutOfRangeException(nameof(version), version, "Unknown MQTT protocol version."),
    };

    /// <summary>Throws for a value that is not a <see cref="MqttProtocolVersion"/>.</summary>
    public static void EnsureKnown(MqttProtocolVersion version) => _ = IsVersion5(version);
}

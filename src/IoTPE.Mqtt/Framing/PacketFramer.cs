using System.Buffers;

namespace IoTPE.Mqtt;

/// <summary>
/// Splits buffered bytes into control packets (spec 2.1). Call <see cref="TryReadFrame"/> in a loop, slicing the
/// buffer at <c>consumed</c> after each complete frame, until it returns <see cref="FrameStatus.NeedMoreData"/>.
/// Works on single and multi-segment buffers (e.g. from System.IO.Pipelines) and does not allocate.
/// </summary>
public static class PacketFramer
{
    /// <summary>The largest packet MQTT can express: 1 byte type, 4 bytes Remaining Length, 268,435,455 bytes body.</summary>
    public const int ProtocolMaximumPacketSize = 1 + VariableByteInteger.MaxSize + VariableByteInteger.MaxValue;

    /// <summary>
    /// Reads the fixed header at the start of <paramref name="buffer"/>: type, flags and Remaining Length. Checks the
    /// reserved flags (spec 2.1.3) and the packet size against <paramref name="maximumPacketSize"/> before any body byte
    /// is needed.
    /// </summary>
    /// <param name="buffer">Buffered bytes starting at a packet boundary.</param>
    /// <param name="maximumPacketSize">The largest acceptable packet in bytes, fixed header included; use <see cref="ProtocolMaximumPacketSize"/> for no limit.</param>
    /// <param name="header">The header read, when <see cref="FrameStatus.Complete"/>.</param>
    /// <param name="error">Why the bytes are invalid, when <see cref="FrameStatus.Error"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maximumPacketSize"/> is below 2.</exception>
    public static FrameStatus TryReadFixedHeader(in ReadOnlySequence<byte> buffer, int maximumPacketSize, out FixedHeader header, out MqttDecodeError error)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maximumPacketSize, 2);
        header = default;
        error = default;
        if (buffer.IsEmpty)
        {
            return FrameStatus.NeedMoreData;
        }

        // Up to 5 bytes hold the whole fixed header; copy them only when the first segment is too short.
        const int maxHeaderLength = 1 + VariableByteInteger.MaxSize;
        scoped ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length < maxHeaderLength && !buffer.IsSingleSegment)
        {
            Span<byte> copy = stackalloc byte[maxHeaderLength];
            int available = (int)Math.Min(buffer.Length, maxHeaderLength);
            buffer.Slice(0, available).CopyTo(copy);
            first = copy[..available];
        }

        byte typeAndFlags = first[0];
        var type = (PacketType)(typeAndFlags >> 4);
        byte flags = (byte)(typeAndFlags & 0x0F);
        if (type == 0)
        {
            error = DecodeErrors.InvalidPacketType;
            return FrameStatus.Error;
        }

        if (!HasValidFlags(type, flags))
        {
            error = DecodeErrors.InvalidFlags;
            return FrameStatus.Error;
        }

        switch (VariableByteInteger.TryRead(first[1..], out int remainingLength, out int lengthSize))
        {
            case FrameStatus.NeedMoreData:
                return FrameStatus.NeedMoreData;
            case FrameStatus.Error:
                error = DecodeErrors.InvalidRemainingLength;
                return FrameStatus.Error;
        }

        header = new FixedHeader(type, flags, remainingLength, 1 + lengthSize);
        if ((long)header.HeaderLength + remainingLength > maximumPacketSize)
        {
            error = DecodeErrors.PacketTooLarge;
            return FrameStatus.Error;
        }

        return FrameStatus.Complete;
    }

    /// <summary>
    /// Reads one whole packet from the start of <paramref name="buffer"/>. A partial packet returns
    /// <see cref="FrameStatus.NeedMoreData"/>; an oversized one fails with <see cref="ReasonCode.PacketTooLarge"/> as
    /// soon as its Remaining Length is known, before its body arrives.
    /// </summary>
    /// <param name="buffer">Buffered bytes starting at a packet boundary.</param>
    /// <param name="maximumPacketSize">The largest acceptable packet in bytes, fixed header included; use <see cref="ProtocolMaximumPacketSize"/> for no limit.</param>
    /// <param name="frame">The packet, when <see cref="FrameStatus.Complete"/>; its body is a slice of <paramref name="buffer"/>.</param>
    /// <param name="consumed">The end of the packet when complete, otherwise the start of <paramref name="buffer"/>.</param>
    /// <param name="error">Why the bytes are invalid, when <see cref="FrameStatus.Error"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maximumPacketSize"/> is below 2.</exception>
    public static FrameStatus TryReadFrame(in ReadOnlySequence<byte> buffer, int maximumPacketSize, out PacketFrame frame, out SequencePosition consumed, out MqttDecodeError error)
    {
        frame = default;
        consumed = buffer.Start;
        FrameStatus status = TryReadFixedHeader(buffer, maximumPacketSize, out FixedHeader header, out error);
        if (status != FrameStatus.Complete)
        {
            return status;
        }

        if (buffer.Length < header.PacketLength)
        {
            return FrameStatus.NeedMoreData;
        }

        ReadOnlySequence<byte> body = buffer.Slice(header.HeaderLength, header.RemainingLength);
        frame = new PacketFrame(header.Type, header.Flags, body);
        consumed = body.End;
        return FrameStatus.Complete;
    }

    /// <summary>
    /// Whether <paramref name="flags"/> are allowed for <paramref name="type"/> (spec 2.1.3): PUBREL, SUBSCRIBE and
    /// UNSUBSCRIBE need 0010, PUBLISH uses its flags (its QoS is checked when decoding), every other type needs 0000.
    /// </summary>
    /// <param name="type">The packet type.</param>
    /// <param name="flags">The fixed header's bits 3-0.</param>
    public static bool HasValidFlags(PacketType type, byte flags) => type switch
    {
        PacketType.Publish => flags <= 0x0F,
        PacketType.PubRel or PacketType.Subscribe or PacketType.Unsubscribe => flags == 0x02,
        _ => flags == 0x00,
    };
}

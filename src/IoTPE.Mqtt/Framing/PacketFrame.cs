using System.Buffers;

namespace IoTPE.Mqtt;

/// <summary>
/// One complete control packet as framed by <see cref="PacketFramer"/>: its type, flags and body (everything after
/// the fixed header). The body is a slice of the caller's buffer and is valid only while that buffer is.
/// </summary>
public readonly struct PacketFrame
{
    /// <summary>Creates a frame, e.g. for a packet not read through <see cref="PacketFramer"/>.</summary>
    /// <param name="type">The packet type.</param>
    /// <param name="flags">The fixed header flags (bits 3-0).</param>
    /// <param name="body">The variable header and payload.</param>
    public PacketFrame(PacketType type, byte flags, ReadOnlySequence<byte> body)
    {
        Type = type;
        Flags = flags;
        Body = body;
    }

    /// <summary>The packet type.</summary>
    public PacketType Type { get; }

    /// <summary>The fixed header flags (bits 3-0; spec 2.1.3).</summary>
    public byte Flags { get; }

    /// <summary>The number of bytes in <see cref="Body"/>.</summary>
    public int RemainingLength => (int)Body.Length;

    /// <summary>The variable header and payload, a slice of the buffer the frame was read from.</summary>
    public ReadOnlySequence<byte> Body { get; }
}

namespace IoTPE.Mqtt;

/// <summary>The fixed header present in every control packet (spec 2.1.1).</summary>
public readonly struct FixedHeader
{
    /// <summary>Creates a fixed header.</summary>
    /// <param name="type">The packet type (byte 1, bits 7-4).</param>
    /// <param name="flags">The flags (byte 1, bits 3-0).</param>
    /// <param name="remainingLength">The number of bytes after the fixed header.</param>
    /// <param name="headerLength">The fixed header's own size: 1 plus the Remaining Length's size.</param>
    public FixedHeader(PacketType type, byte flags, int remainingLength, int headerLength)
    {
        Type = type;
        Flags = flags;
        RemainingLength = remainingLength;
        HeaderLength = headerLength;
    }

    /// <summary>The packet type (byte 1, bits 7-4).</summary>
    public PacketType Type { get; }

    /// <summary>The flags (byte 1, bits 3-0; spec 2.1.3).</summary>
    public byte Flags { get; }

    /// <summary>The number of bytes after the fixed header: variable header plus payload (spec 2.1.4).</summary>
    public int RemainingLength { get; }

    /// <summary>The fixed header's size in bytes (2 to 5).</summary>
    public int HeaderLength { get; }

    /// <summary>The whole packet's size in bytes, fixed header included.</summary>
    public int PacketLength => HeaderLength + RemainingLength;
}

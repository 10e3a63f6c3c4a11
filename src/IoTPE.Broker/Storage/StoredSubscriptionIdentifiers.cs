using System.Buffers.Binary;

namespace IoTPE.Broker.Storage;

/// <summary>
/// How a store adapter keeps a delivery's Subscription Identifiers in one column: a binary value of
/// little-endian 32-bit integers, four bytes each, and no value at all (NULL) when there are none,
/// the common case, so an identifier-less delivery costs nothing. Both adapters use this layout.
/// </summary>
public static class StoredSubscriptionIdentifiers
{
    /// <summary>The bytes <paramref name="identifiers"/> take (0 for none).</summary>
    public static int ByteLength(uint[] identifiers)
    {
        ArgumentNullException.ThrowIfNull(identifiers);
        return identifiers.Length * sizeof(uint);
    }

    /// <summary>Writes <paramref name="identifiers"/> into the first <see cref="ByteLength"/> bytes of <paramref name="destination"/>.</summary>
    public static void Write(uint[] identifiers, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(identifiers);
        for (int i = 0; i < identifiers.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[(i * sizeof(uint))..], identifiers[i]);
        }
    }

    /// <summary>The column value for <paramref name="identifiers"/>, or null (store NULL) when there are none.</summary>
    public static byte[]? Encode(uint[] identifiers)
    {
        if (ByteLength(identifiers) == 0)
        {
            return null;
        }
        var bytes = new byte[ByteLength(identifiers)];
        Write(identifiers, bytes);
        return bytes;
    }

    /// <summary>Decodes a stored value (empty for NULL or an empty value).</summary>
    public static uint[] Decode(ReadOnlySpan<byte> stored)
    {
        if (stored.Length < sizeof(uint))
        {
            return [];
        }
        var identifiers = new uint[stored.Length / sizeof(uint)];
        for (int i = 0; i < identifiers.Length; i++)
        {
            identifiers[i] = BinaryPrimitives.ReadUInt32LittleEndian(stored[(i * sizeof(uint))..]);
        }
        return identifiers;
    }
}

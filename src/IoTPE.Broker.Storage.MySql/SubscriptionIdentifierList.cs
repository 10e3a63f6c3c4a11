using System.Buffers.Binary;

namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// Stores a delivery's Subscription Identifiers as one BLOB of little-endian 32-bit integers, four
/// bytes each (as the SQLite store does); NULL when there are none, the common case.
/// </summary>
internal static class SubscriptionIdentifierList
{
    /// <summary>The column value for <paramref name="identifiers"/>.</summary>
    public static object Encode(uint[] identifiers)
    {
        if (identifiers.Length == 0)
        {
            return DBNull.Value;
        }
        byte[] bytes = new byte[identifiers.Length * sizeof(uint)];
        for (int i = 0; i < identifiers.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * sizeof(uint)), identifiers[i]);
        }
        return bytes;
    }

    /// <summary>Decodes a stored BLOB (empty for NULL).</summary>
    public static uint[] Decode(ReadOnlySpan<byte> blob)
    {
        if (blob.Length < sizeof(uint))
        {
            return [];
        }
        var identifiers = new uint[blob.Length / sizeof(uint)];
        for (int i = 0; i < identifiers.Length; i++)
        {
            identifiers[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob[(i * sizeof(uint))..]);
        }
        return identifiers;
    }
}

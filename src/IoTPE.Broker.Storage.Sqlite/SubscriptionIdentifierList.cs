using System.Buffers;
using System.Buffers.Binary;
using IoTPE.Sqlite;

namespace IoTPE.Broker.Storage.Sqlite;

/// <summary>
/// Stores a delivery's Subscription Identifiers as one BLOB of little-endian 32-bit integers, four
/// bytes each; NULL when there are none (the common case), so an identifier-less delivery costs nothing.
/// </summary>
internal static class SubscriptionIdentifierList
{
    private const int StackBytes = 256;

    /// <summary>Binds <paramref name="identifiers"/> to a statement parameter.</summary>
    public static void Bind(SqliteStatement statement, int index, uint[] identifiers)
    {
        if (identifiers.Length == 0)
        {
            statement.BindNull(index);
            return;
        }
        int size = identifiers.Length * sizeof(uint);
        byte[]? rented = size <= StackBytes ? null : ArrayPool<byte>.Shared.Rent(size);
        Span<byte> bytes = rented is null ? stackalloc byte[StackBytes] : rented;
        bytes = bytes[..size];
        for (int i = 0; i < identifiers.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes[(i * sizeof(uint))..], identifiers[i]);
        }
        statement.BindBlob(index, bytes);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Decodes a stored BLOB (empty for NULL).</summary>
    public static uint[] Read(ReadOnlySpan<byte> blob)
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

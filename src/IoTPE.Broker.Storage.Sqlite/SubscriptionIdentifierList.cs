using System.Buffers;
using IoTPE.Sqlite;

namespace IoTPE.Broker.Storage.Sqlite;

/// <summary>
/// Binds a delivery's Subscription Identifiers in the layout of <see cref="StoredSubscriptionIdentifiers"/>
/// without allocating: on the stack when small, from the shared pool otherwise.
/// </summary>
internal static class SubscriptionIdentifierList
{
    private const int StackBytes = 256;

    /// <summary>Binds <paramref name="identifiers"/> to a statement parameter.</summary>
    public static void Bind(SqliteStatement statement, int index, uint[] identifiers)
    {
        int size = StoredSubscriptionIdentifiers.ByteLength(identifiers);
        if (size == 0)
        {
            statement.BindNull(index);
            return;
        }
        byte[]? rented = size <= StackBytes ? null : ArrayPool<byte>.Shared.Rent(size);
        Span<byte> bytes = rented is null ? stackalloc byte[StackBytes] : rented;
        bytes = bytes[..size];
        StoredSubscriptionIdentifiers.Write(identifiers, bytes);
        statement.BindBlob(index, bytes);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}

namespace IoTPE.Client.Storage;

/// <summary>A row of the <c>incoming</c> table.</summary>
/// <param name="Id">The row id (arrival order).</param>
/// <param name="PacketId">The packet identifier the broker's session still holds, 0 when detached.</param>
/// <param name="Attempts">How many handler attempts were started.</param>
/// <param name="Packet">The stored PUBLISH (see <see cref="StoredPublish"/>).</param>
internal readonly record struct IncomingRow(long Id, ushort PacketId, int Attempts, byte[] Packet);

using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Storage.Tests;

/// <summary>Records as the broker would pass them.</summary>
internal static class SampleRecords
{
    /// <summary>A ~100-byte PUBLISH packet whose payload encodes <paramref name="id"/>, so a mixed-up row shows.</summary>
    public static byte[] Packet(long id, int size = 100)
    {
        var packet = new byte[size];
        packet[0] = 0x32; // PUBLISH, QoS 1
        BitConverter.TryWriteBytes(packet.AsSpan(size - 8), id);
        for (int i = 1; i < size - 8; i++)
        {
            packet[i] = (byte)(i * 7 + id);
        }
        return packet;
    }

    public static StoredMessage Message(long id, int size = 100) => new(id, Packet(id, size), null, "publisher-1", null);

    public static StoredDelivery Delivery(string clientId, long sequence, long messageId) =>
        new(clientId, sequence, messageId, 1, false, false, []);
}

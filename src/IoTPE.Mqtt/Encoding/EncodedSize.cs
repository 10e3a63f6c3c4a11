namespace IoTPE.Mqtt;

/// <summary>Sizes of encoded fields and packets, used by every packet's GetEncodedSize and Encode.</summary>
internal static class EncodedSize
{
    /// <summary>A UTF-8 Encoded String with its two byte length prefix.</summary>
    public static int String(string value) => 2 + MqttString.GetEncodedByteCount(value);

    /// <summary>Binary Data with its two byte length prefix.</summary>
    public static int Binary(int length) =>
        length <= MqttString.MaxByteCount
            ? 2 + length
            : throw new ArgumentException("Binary Data holds at most 65,535 bytes.", nameof(length));

    /// <summary>The whole packet: fixed header byte, Remaining Length, then the rest.</summary>
    public static int Packet(int remainingLength) => 1 + VariableByteInteger.GetSize(remainingLength) + remainingLength;

    /// <summary>Throws when <paramref name="destination"/> cannot hold <paramref name="size"/> bytes.</summary>
    public static void EnsureDestination(Span<byte> destination, int size)
    {
        if (destination.Length < size)
        {
            throw new ArgumentException($"The destination has {destination.Length} bytes but the packet needs {size}.", nameof(destination));
        }
    }
}

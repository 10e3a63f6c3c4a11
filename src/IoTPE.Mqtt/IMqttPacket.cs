namespace IoTPE.Mqtt;

/// <summary>A control packet that can be encoded into a caller's buffer.</summary>
public interface IMqttPacket
{
    /// <summary>The packet's type.</summary>
    PacketType Type { get; }

    /// <summary>The number of bytes <see cref="Encode"/> writes for <paramref name="version"/>, fixed header included.</summary>
    /// <param name="version">The protocol version of the connection.</param>
    int GetEncodedSize(MqttProtocolVersion version);

    /// <summary>Writes the whole packet, fixed header included, to the start of <paramref name="destination"/>.</summary>
    /// <param name="destination">At least <see cref="GetEncodedSize"/> bytes.</param>
    /// <param name="version">The protocol version of the connection.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too small.</exception>
    int Encode(Span<byte> destination, MqttProtocolVersion version);
}

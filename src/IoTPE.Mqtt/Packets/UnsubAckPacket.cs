using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>
/// UNSUBACK (spec 3.11). 5.0 carries one reason code per topic filter of the UNSUBSCRIBE plus properties;
/// 3.1.1 carries only the packet identifier (its <see cref="ReasonCodes"/> decode as empty and are not encoded).
/// </summary>
public sealed class UnsubAckPacket : IMqttPacket
{
    private PropertySet _set;

    /// <summary>Creates an UNSUBACK.</summary>
    /// <param name="packetIdentifier">The UNSUBSCRIBE's packet identifier.</param>
    /// <param name="reasonCodes">One code per topic filter (5.0); may be omitted for 3.1.1.</param>
    public UnsubAckPacket(ushort packetIdentifier, IReadOnlyList<ReasonCode>? reasonCodes = null)
    {
        PacketIdentifier = packetIdentifier;
        ReasonCodes = reasonCodes ?? [];
    }

    /// <inheritdoc />
    public PacketType Type => PacketType.UnsubAck;

    /// <summary>The packet identifier of the UNSUBSCRIBE being acknowledged.</summary>
    public ushort PacketIdentifier { get; }

    /// <summary>The 5.0 reason codes, one per topic filter; empty for 3.1.1.</summary>
    public IReadOnlyList<ReasonCode> ReasonCodes { get; }

    /// <summary>Reason String (0x1F) (5.0).</summary>
    public string? ReasonString { get => _set.ReasonString; init => _set.ReasonString = value; }

    /// <summary>User Properties (0x26), in order (5.0); empty when none.</summary>
    public IReadOnlyList<UserProperty> UserProperties { get => _set.UserPropertyList; init => _set.UserProperties = value is { Count: > 0 } ? value : null; }

    /// <summary>Decodes an UNSUBACK frame.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.UnsubAck"/>.</param>
    /// <param name="version">The connection's protocol version.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid UNSUBACK.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out UnsubAckPacket? packet, out MqttDecodeError error)
    {
        packet = null;
        bool version5 = PacketBody.IsVersion5(version);
        if (!PacketBody.CheckHeader(frame, PacketType.UnsubAck, out error))
        {
            return false;
        }

        if (!version5)
        {
            var reader = new MqttReader(PacketBody.GetContiguous(frame).Span);
            if (!SubscribePacket.TryReadPacketIdentifier(ref reader, out ushort identifier, out error))
            {
                return false;
            }

            if (!reader.End)
            {
                error = DecodeErrors.TrailingBytes;
                return false;
            }

            packet = new UnsubAckPacket(identifier);
            return true;
        }

        if (!SubAckPacket.TryDecodeAcknowledgement(frame, version5, PacketType.UnsubAck, out ushort packetIdentifier, out PropertySet set, out ReasonCode[] codes, out error))
        {
            return false;
        }

        packet = new UnsubAckPacket(packetIdentifier, codes) { _set = set };
        return true;
    }

    /// <inheritdoc />
    public int GetEncodedSize(MqttProtocolVersion version) => EncodedSize.Packet(GetRemainingLength(version, out _));

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">Packet identifier 0, or no reason codes for 5.0.</exception>
    public int Encode(Span<byte> destination, MqttProtocolVersion version)
    {
        int remainingLength = GetRemainingLength(version, out int propertiesLength);
        EncodedSize.EnsureDestination(destination, EncodedSize.Packet(remainingLength));
        var writer = new MqttWriter(destination);
        writer.WriteFixedHeader(PacketType.UnsubAck, 0, remainingLength);
        writer.WriteUInt16(PacketIdentifier);
        if (PacketBody.IsVersion5(version))
        {
            _set.WriteWithPrefix(ref writer, propertiesLength);
            foreach (ReasonCode code in ReasonCodes)
            {
                writer.WriteByte((byte)code);
            }
        }

        return writer.Position;
    }

    private int GetRemainingLength(MqttProtocolVersion version, out int propertiesLength)
    {
        propertiesLength = 0;
        bool version5 = PacketBody.IsVersion5(version);
        if (PacketIdentifier == 0 || (version5 && ReasonCodes.Count == 0))
        {
            throw new InvalidOperationException("An UNSUBACK needs a non-zero packet identifier and, in 5.0, at least one reason code.");
        }

        return version5 ? 2 + _set.GetLengthWithPrefix(out propertiesLength) + ReasonCodes.Count : 2;
    }
}

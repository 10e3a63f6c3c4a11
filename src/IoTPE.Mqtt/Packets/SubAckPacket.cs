using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>
/// SUBACK (spec 3.9): one reason code per topic filter of the SUBSCRIBE, in order. In 3.1.1 only 0x00, 0x01, 0x02
/// and 0x80 exist; encoding for 3.1.1 sends any failure code as 0x80.
/// </summary>
public sealed class SubAckPacket : IMqttPacket
{
    private PropertySet _set;

    /// <summary>Creates a SUBACK.</summary>
    /// <param name="packetIdentifier">The SUBSCRIBE's packet identifier.</param>
    /// <param name="reasonCodes">One code per subscription: GrantedQoS0-2 or a failure code.</param>
    public SubAckPacket(ushort packetIdentifier, IReadOnlyList<ReasonCode> reasonCodes)
    {
        ArgumentNullException.ThrowIfNull(reasonCodes);
        PacketIdentifier = packetIdentifier;
        ReasonCodes = reasonCodes;
    }

    /// <inheritdoc />
    public PacketType Type => PacketType.SubAck;

    /// <summary>The packet identifier of the SUBSCRIBE being acknowledged.</summary>
    public ushort PacketIdentifier { get; }

    /// <summary>The reason codes, one per subscription (3.1.1's 0x80 failure is <see cref="ReasonCode.UnspecifiedError"/>).</summary>
    public IReadOnlyList<ReasonCode> ReasonCodes { get; }

    /// <summary>Reason String (0x1F) (5.0).</summary>
    public string? ReasonString { get => _set.ReasonString; init => _set.ReasonString = value; }

    /// <summary>User Properties (0x26), in order (5.0); empty when none.</summary>
    public IReadOnlyList<UserProperty> UserProperties { get => _set.UserPropertyList; init => _set.UserProperties = value is { Count: > 0 } ? value : null; }

    /// <summary>Decodes a SUBACK frame.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.SubAck"/>.</param>
    /// <param name="version">The connection's protocol version.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid SUBACK.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out SubAckPacket? packet, out MqttDecodeError error)
    {
        packet = null;
        bool version5 = PacketBody.IsVersion5(version);
        if (!PacketBody.CheckHeader(frame, PacketType.SubAck, out error) ||
            !TryDecodeAcknowledgement(frame, version5, PacketType.SubAck, out ushort packetIdentifier, out PropertySet set, out ReasonCode[] codes, out error))
        {
            return false;
        }

        packet = new SubAckPacket(packetIdentifier, codes) { _set = set };
        return true;
    }

    /// <inheritdoc />
    public int GetEncodedSize(MqttProtocolVersion version) => EncodedSize.Packet(GetRemainingLength(version, out _));

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">No reason codes, or packet identifier 0.</exception>
    public int Encode(Span<byte> destination, MqttProtocolVersion version)
    {
        int remainingLength = GetRemainingLength(version, out int propertiesLength);
        EncodedSize.EnsureDestination(destination, EncodedSize.Packet(remainingLength));
        bool version5 = PacketBody.IsVersion5(version);
        var writer = new MqttWriter(destination);
        writer.WriteFixedHeader(PacketType.SubAck, 0, remainingLength);
        writer.WriteUInt16(PacketIdentifier);
        if (version5)
        {
            _set.WriteWithPrefix(ref writer, propertiesLength);
        }

        foreach (ReasonCode code in ReasonCodes)
        {
            writer.WriteByte(version5 || (byte)code < 0x80 ? (byte)code : (byte)0x80);
        }

        return writer.Position;
    }

    /// <summary>
    /// The SUBACK/UNSUBACK layout: packet identifier, 5.0 properties, then at least one reason code (allowed for
    /// <paramref name="type"/>; 3.1.1 SUBACK codes 0x00-0x02 and 0x80).
    /// </summary>
    internal static bool TryDecodeAcknowledgement(
        in PacketFrame frame,
        bool version5,
        PacketType type,
        out ushort packetIdentifier,
        out PropertySet set,
        out ReasonCode[] codes,
        out MqttDecodeError error)
    {
        set = default;
        codes = [];
        var reader = new MqttReader(PacketBody.GetContiguous(frame).Span);
        if (!SubscribePacket.TryReadPacketIdentifier(ref reader, out packetIdentifier, out error))
        {
            return false;
        }

        if (version5 && !PropertyDecoder.TryDecode(ref reader, AllowedProperties.Acknowledgement, out set, out error))
        {
            return false;
        }

        ReadOnlySpan<byte> payload = reader.RemainingSpan;
        if (payload.IsEmpty)
        {
            error = DecodeErrors.EmptyReasonCodes;
            return false;
        }

        codes = new ReasonCode[payload.Length];
        for (int index = 0; index < payload.Length; index++)
        {
            byte code = payload[index];
            bool allowed = version5 ? AllowedReasonCodes.IsAllowed(type, (ReasonCode)code) : AllowedReasonCodes.IsAllowedInSubAckV311(code);
            if (!allowed)
            {
                error = DecodeErrors.InvalidReasonCode;
                return false;
            }

            codes[index] = (ReasonCode)code;
        }

        return true;
    }

    private int GetRemainingLength(MqttProtocolVersion version, out int propertiesLength)
    {
        if (PacketIdentifier == 0 || ReasonCodes.Count == 0)
        {
            throw new InvalidOperationException("A SUBACK needs a non-zero packet identifier and at least one reason code.");
        }

        propertiesLength = 0;
        int length = 2 + ReasonCodes.Count;
        if (PacketBody.IsVersion5(version))
        {
            length += _set.GetLengthWithPrefix(out propertiesLength);
        }

        return length;
    }
}

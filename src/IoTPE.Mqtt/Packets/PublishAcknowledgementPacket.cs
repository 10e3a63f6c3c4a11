using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>
/// The layout shared by PUBACK, PUBREC, PUBREL and PUBCOMP (spec 3.4-3.7): packet identifier, then in 5.0 an
/// optional reason code and optional properties (Reason String, User Properties). 3.1.1 carries only the identifier.
/// </summary>
public abstract class PublishAcknowledgementPacket : IMqttPacket
{
    // Held apart and only when present: PUBACK, PUBREC, PUBREL and PUBCOMP go with every QoS 1/2
    // message and rarely carry properties, and the whole PropertySet would make each one ~200 bytes.
    private PropertyHolder? _properties;
    private AcknowledgementForm _form;

    private protected PublishAcknowledgementPacket(ushort packetIdentifier, ReasonCode reasonCode)
    {
        PacketIdentifier = packetIdentifier;
        ReasonCode = reasonCode;
    }

    /// <inheritdoc />
    public abstract PacketType Type { get; }

    /// <summary>The identifier of the PUBLISH (or PUBREL) this packet answers; never 0.</summary>
    public ushort PacketIdentifier { get; }

    /// <summary>The reason code (5.0); <see cref="ReasonCode.Success"/> when omitted on the wire or in 3.1.1.</summary>
    public ReasonCode ReasonCode { get; }

    /// <summary>Reason String (0x1F): a human readable diagnostic (5.0).</summary>
    public string? ReasonString { get => _properties?.Set.ReasonString; init => (_properties ??= new()).Set.ReasonString = value; }

    /// <summary>User Properties (0x26), in order (5.0); empty when none.</summary>
    public IReadOnlyList<UserProperty> UserProperties
    {
        get => _properties?.Set.UserPropertyList ?? [];
        init => (_properties ??= new()).Set.UserProperties = value is { Count: > 0 } ? value : null;
    }

    /// <inheritdoc />
    public int GetEncodedSize(MqttProtocolVersion version) => EncodedSize.Packet(GetRemainingLength(version, out _, out _));

    /// <inheritdoc />
    public int Encode(Span<byte> destination, MqttProtocolVersion version)
    {
        int remainingLength = GetRemainingLength(version, out AcknowledgementForm form, out int propertiesLength);
        EncodedSize.EnsureDestination(destination, EncodedSize.Packet(remainingLength));
        var writer = new MqttWriter(destination);
        writer.WriteFixedHeader(Type, Type == PacketType.PubRel ? (byte)0x02 : (byte)0x00, remainingLength);
        writer.WriteUInt16(PacketIdentifier);
        if (form >= AcknowledgementForm.WithReasonCode)
        {
            writer.WriteByte((byte)ReasonCode);
        }

        if (form == AcknowledgementForm.WithProperties)
        {
            _properties!.Set.WriteWithPrefix(ref writer, propertiesLength);
        }

        return writer.Position;
    }

    /// <summary>
    /// Reads the packet identifier of an acknowledgement of type <paramref name="type"/> in its
    /// shortest form — Remaining Length 2: every 3.1.1 acknowledgement, and a 5.0 one that omits a
    /// Success reason code (spec 3.4.2.1) — without building a packet, as a broker does for each QoS 1
    /// and 2 message. False for any other form or an invalid frame: <c>TryDecode</c> then decodes it,
    /// or says what is wrong.
    /// </summary>
    /// <param name="frame">The frame.</param>
    /// <param name="type">PUBACK, PUBREC, PUBREL or PUBCOMP.</param>
    /// <param name="packetIdentifier">The identifier (never 0), on success.</param>
    public static bool TryReadShortest(in PacketFrame frame, PacketType type, out ushort packetIdentifier)
    {
        packetIdentifier = 0;
        ReadOnlySequence<byte> body = frame.Body;
        if (body.Length != 2 || !body.IsSingleSegment || !PacketBody.CheckHeader(frame, type, out _))
        {
            return false;
        }
        packetIdentifier = BinaryPrimitives.ReadUInt16BigEndian(body.FirstSpan);
        return packetIdentifier != 0;
    }

    /// <summary>Decodes the shared layout into <paramref name="packet"/>, created by <paramref name="create"/> once the fields are known.</summary>
    private protected static bool TryDecode<TPacket>(
        in PacketFrame frame,
        MqttProtocolVersion version,
        PacketType type,
        Func<ushort, ReasonCode, TPacket> create,
        [NotNullWhen(true)] out TPacket? packet,
        out MqttDecodeError error)
        where TPacket : PublishAcknowledgementPacket
    {
        packet = null;
        bool version5 = PacketBody.IsVersion5(version);
        if (!PacketBody.CheckHeader(frame, type, out error))
        {
            return false;
        }

        var reader = new MqttReader(PacketBody.GetContiguous(frame).Span);
        if (!reader.TryReadUInt16(out ushort packetIdentifier))
        {
            error = DecodeErrors.Truncated;
            return false;
        }

        if (packetIdentifier == 0)
        {
            error = DecodeErrors.PacketIdentifierZero;
            return false;
        }

        var reasonCode = ReasonCode.Success;
        var form = AcknowledgementForm.Shortest;
        PropertySet set = default;
        if (version5 && reader.TryReadByte(out byte code))
        {
            reasonCode = (ReasonCode)code;
            form = AcknowledgementForm.WithReasonCode;
            if (!AllowedReasonCodes.IsAllowed(type, reasonCode))
            {
                error = DecodeErrors.InvalidReasonCode;
                return false;
            }

            // A Remaining Length below 4 means no Property Length, i.e. no properties (spec 3.4.2.2).
            if (!reader.End)
            {
                form = AcknowledgementForm.WithProperties;
                if (!PropertyDecoder.TryDecode(ref reader, AllowedProperties.Acknowledgement, out set, out error))
                {
                    return false;
                }
            }
        }

        if (!reader.End)
        {
            error = DecodeErrors.TrailingBytes;
            return false;
        }

        packet = create(packetIdentifier, reasonCode);
        if (form == AcknowledgementForm.WithProperties)
        {
            packet._properties = new PropertyHolder { Set = set };
        }
        packet._form = form;
        return true;
    }

    private int GetRemainingLength(MqttProtocolVersion version, out AcknowledgementForm form, out int propertiesLength)
    {
        if (PacketIdentifier == 0)
        {
            throw new InvalidOperationException("The packet identifier must not be 0.");
        }

        propertiesLength = 0;
        form = AcknowledgementForm.Shortest;
        if (!PacketBody.IsVersion5(version))
        {
            return 2;
        }

        propertiesLength = _properties?.Set.GetLength() ?? 0;
        AcknowledgementForm needed = propertiesLength > 0 ? AcknowledgementForm.WithProperties
            : ReasonCode != ReasonCode.Success ? AcknowledgementForm.WithReasonCode
            : AcknowledgementForm.Shortest;
        form = needed > _form ? needed : _form;
        return form switch
        {
            AcknowledgementForm.Shortest => 2,
            AcknowledgementForm.WithReasonCode => 3,
            _ => 3 + VariableByteInteger.GetSize(propertiesLength) + propertiesLength,
        };
    }

    private sealed class PropertyHolder
    {
        public PropertySet Set;
    }
}

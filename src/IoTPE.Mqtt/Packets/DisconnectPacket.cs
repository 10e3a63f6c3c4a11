using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>
/// DISCONNECT (spec 3.14). 3.1.1 has no variable header (client to server only); 5.0 adds a reason code and
/// properties, both omitted on the wire for a normal disconnection without properties. Direction rules (the server
/// never sends Session Expiry Interval; a client may not raise it from 0) are the caller's to check.
/// </summary>
public sealed class DisconnectPacket : IMqttPacket
{
    private PropertySet _set;
    private AcknowledgementForm _form;

    /// <summary>Creates a DISCONNECT; set 5.0 properties with an object initializer.</summary>
    /// <param name="reasonCode">The 5.0 reason code; ignored when encoding for 3.1.1.</param>
    public DisconnectPacket(ReasonCode reasonCode = ReasonCode.NormalDisconnection) => ReasonCode = reasonCode;

    /// <inheritdoc />
    public PacketType Type => PacketType.Disconnect;

    /// <summary>The reason code (5.0); <see cref="ReasonCode.NormalDisconnection"/> when omitted or in 3.1.1.</summary>
    public ReasonCode ReasonCode { get; }

    /// <summary>Session Expiry Interval (0x11) in seconds; client to server only.</summary>
    public uint? SessionExpiryInterval { get => _set.SessionExpiryInterval; init => _set.SessionExpiryInterval = value; }

    /// <summary>Reason String (0x1F).</summary>
    public string? ReasonString { get => _set.ReasonString; init => _set.ReasonString = value; }

    /// <summary>Server Reference (0x1C): another server the client may use.</summary>
    public string? ServerReference { get => _set.ServerReference; init => _set.ServerReference = value; }

    /// <summary>User Properties (0x26), in order; empty when none.</summary>
    public IReadOnlyList<UserProperty> UserProperties { get => _set.UserPropertyList; init => _set.UserProperties = value is { Count: > 0 } ? value : null; }

    /// <summary>Decodes a DISCONNECT frame, including the 5.0 short forms.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.Disconnect"/>.</param>
    /// <param name="version">The connection's protocol version.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid DISCONNECT.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out DisconnectPacket? packet, out MqttDecodeError error)
    {
        packet = null;
        bool version5 = PacketBody.IsVersion5(version);
        if (!PacketBody.CheckHeader(frame, PacketType.Disconnect, out error))
        {
            return false;
        }

        if (!version5)
        {
            if (frame.RemainingLength != 0)
            {
                error = DecodeErrors.NotEmpty;
                return false;
            }

            packet = new DisconnectPacket();
            return true;
        }

        var reader = new MqttReader(PacketBody.GetContiguous(frame).Span);
        var reasonCode = ReasonCode.NormalDisconnection;
        var form = AcknowledgementForm.Shortest;
        PropertySet set = default;
        if (reader.TryReadByte(out byte code))
        {
            reasonCode = (ReasonCode)code;
            form = AcknowledgementForm.WithReasonCode;
            if (!AllowedReasonCodes.IsAllowed(PacketType.Disconnect, reasonCode))
            {
                error = DecodeErrors.InvalidReasonCode;
                return false;
            }

            // A Remaining Length below 2 means no Property Length (spec 3.14.2.2).
            if (!reader.End)
            {
                form = AcknowledgementForm.WithProperties;
                if (!PropertyDecoder.TryDecode(ref reader, AllowedProperties.Disconnect, out set, out error))
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

        packet = new DisconnectPacket(reasonCode) { _set = set, _form = form };
        return true;
    }

    /// <inheritdoc />
    public int GetEncodedSize(MqttProtocolVersion version) => EncodedSize.Packet(GetRemainingLength(version, out _, out _));

    /// <inheritdoc />
    public int Encode(Span<byte> destination, MqttProtocolVersion version)
    {
        int remainingLength = GetRemainingLength(version, out AcknowledgementForm form, out int propertiesLength);
        EncodedSize.EnsureDestination(destination, EncodedSize.Packet(remainingLength));
        var writer = new MqttWriter(destination);
        writer.WriteFixedHeader(PacketType.Disconnect, 0, remainingLength);
        if (remainingLength > 0)
        {
            writer.WriteByte((byte)ReasonCode);
            if (form == AcknowledgementForm.WithProperties)
            {
                _set.WriteWithPrefix(ref writer, propertiesLength);
            }
        }

        return writer.Position;
    }

    private int GetRemainingLength(MqttProtocolVersion version, out AcknowledgementForm form, out int propertiesLength)
    {
        form = AcknowledgementForm.Shortest;
        propertiesLength = 0;
        if (!PacketBody.IsVersion5(version))
        {
            return 0;
        }

        propertiesLength = _set.GetLength();
        AcknowledgementForm needed = propertiesLength > 0 ? AcknowledgementForm.WithProperties
            : ReasonCode != ReasonCode.NormalDisconnection ? AcknowledgementForm.WithReasonCode
            : AcknowledgementForm.Shortest;
        form = needed > _form ? needed : _form;
        return form switch
        {
            AcknowledgementForm.Shortest => 0,
            AcknowledgementForm.WithReasonCode => 1,
            _ => 1 + VariableByteInteger.GetSize(propertiesLength) + propertiesLength,
        };
    }
}

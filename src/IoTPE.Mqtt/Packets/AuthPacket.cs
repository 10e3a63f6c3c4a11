using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>
/// AUTH (spec 3.15, MQTT 5.0 only): enhanced authentication exchange. The reason code and properties may be omitted
/// together (Success, Remaining Length 0); otherwise an Authentication Method is required.
/// </summary>
public sealed class AuthPacket : IMqttPacket
{
    private PropertySet _set;
    private AcknowledgementForm _form;

    /// <summary>Creates an AUTH; set the authentication properties with an object initializer.</summary>
    /// <param name="reasonCode">Success, ContinueAuthentication or ReAuthenticate.</param>
    public AuthPacket(ReasonCode reasonCode = ReasonCode.Success) => ReasonCode = reasonCode;

    /// <inheritdoc />
    public PacketType Type => PacketType.Auth;

    /// <summary>The reason code: Success (0x00), Continue authentication (0x18) or Re-authenticate (0x19).</summary>
    public ReasonCode ReasonCode { get; }

    /// <summary>Authentication Method (0x15).</summary>
    public string? AuthenticationMethod { get => _set.AuthenticationMethod; init => _set.AuthenticationMethod = value; }

    /// <summary>Authentication Data (0x16).</summary>
    public byte[]? AuthenticationData { get => _set.AuthenticationData; init => _set.AuthenticationData = value; }

    /// <summary>Reason String (0x1F).</summary>
    public string? ReasonString { get => _set.ReasonString; init => _set.ReasonString = value; }

    /// <summary>User Properties (0x26), in order; empty when none.</summary>
    public IReadOnlyList<UserProperty> UserProperties { get => _set.UserPropertyList; init => _set.UserProperties = value is { Count: > 0 } ? value : null; }

    /// <summary>Decodes an AUTH frame; in 3.1.1 packet type 15 is reserved and always fails.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.Auth"/>.</param>
    /// <param name="version">The connection's protocol version.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid AUTH.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out AuthPacket? packet, out MqttDecodeError error)
    {
        packet = null;
        if (!PacketBody.IsVersion5(version))
        {
            error = DecodeErrors.AuthInV311;
            return false;
        }

        if (!PacketBody.CheckHeader(frame, PacketType.Auth, out error))
        {
            return false;
        }

        var reader = new MqttReader(PacketBody.GetContiguous(frame).Span);
        if (reader.End)
        {
            packet = new AuthPacket();
            return true;
        }

        reader.TryReadByte(out byte code);
        var reasonCode = (ReasonCode)code;
        if (!AllowedReasonCodes.IsAllowed(PacketType.Auth, reasonCode))
        {
            error = DecodeErrors.InvalidReasonCode;
            return false;
        }

        // Only the pair (reason code, properties) may be omitted, so a reason code needs a Property Length.
        if (!PropertyDecoder.TryDecode(ref reader, AllowedProperties.Auth, out PropertySet set, out error))
        {
            return false;
        }

        if (set.AuthenticationMethod is null)
        {
            error = DecodeErrors.AuthenticationMethodMissing;
            return false;
        }

        if (!reader.End)
        {
            error = DecodeErrors.TrailingBytes;
            return false;
        }

        packet = new AuthPacket(reasonCode) { _set = set, _form = AcknowledgementForm.WithProperties };
        return true;
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The version is not 5.0.</exception>
    public int GetEncodedSize(MqttProtocolVersion version) => EncodedSize.Packet(GetRemainingLength(version, out _));

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The version is not 5.0.</exception>
    public int Encode(Span<byte> destination, MqttProtocolVersion version)
    {
        int remainingLength = GetRemainingLength(version, out int propertiesLength);
        EncodedSize.EnsureDestination(destination, EncodedSize.Packet(remainingLength));
        var writer = new MqttWriter(destination);
        writer.WriteFixedHeader(PacketType.Auth, 0, remainingLength);
        if (remainingLength > 0)
        {
            writer.WriteByte((byte)ReasonCode);
            _set.WriteWithPrefix(ref writer, propertiesLength);
        }

        return writer.Position;
    }

    private int GetRemainingLength(MqttProtocolVersion version, out int propertiesLength)
    {
        if (!PacketBody.IsVersion5(version))
        {
            throw new InvalidOperationException("AUTH exists only in MQTT 5.0.");
        }

        propertiesLength = _set.GetLength();
        bool shortest = propertiesLength == 0 && ReasonCode == ReasonCode.Success && _form == AcknowledgementForm.Shortest;
        return shortest ? 0 : 1 + VariableByteInteger.GetSize(propertiesLength) + propertiesLength;
    }
}

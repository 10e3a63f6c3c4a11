using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>
/// CONNACK (spec 3.2): the server's answer to CONNECT. 5.0 carries a <see cref="ReasonCode"/> and properties, 3.1.1 a
/// <see cref="ConnectReturnCode"/>. Either constructor fills both codes (see <see cref="ToConnectReturnCode"/>), so
/// one packet encodes for either version.
/// </summary>
public sealed class ConnAckPacket : IMqttPacket
{
    private PropertySet _set;

    /// <summary>Creates a CONNACK from a 5.0 reason code; the 3.1.1 return code is derived from it.</summary>
    /// <param name="reasonCode">The CONNACK reason code (spec 3.2.2.2).</param>
    /// <param name="sessionPresent">Whether the server resumes a session; must be false on failure.</param>
    public ConnAckPacket(ReasonCode reasonCode, bool sessionPresent = false)
    {
        ReasonCode = reasonCode;
        ReturnCode = ToConnectReturnCode(reasonCode);
        SessionPresent = sessionPresent;
    }

    /// <summary>Creates a CONNACK from a 3.1.1 return code; the 5.0 reason code is derived from it.</summary>
    /// <param name="returnCode">The 3.1.1 return code.</param>
    /// <param name="sessionPresent">Whether the server resumes a session; must be false on failure.</param>
    public ConnAckPacket(ConnectReturnCode returnCode, bool sessionPresent = false)
    {
        ReturnCode = returnCode;
        ReasonCode = ToReasonCode(returnCode);
        SessionPresent = sessionPresent;
    }

    /// <inheritdoc />
    public PacketType Type => PacketType.ConnAck;

    /// <summary>Session Present (acknowledge flags bit 0).</summary>
    public bool SessionPresent { get; }

    /// <summary>The 5.0 reason code (for a decoded 3.1.1 CONNACK: mapped from the return code).</summary>
    public ReasonCode ReasonCode { get; }

    /// <summary>The 3.1.1 return code (for a decoded 5.0 CONNACK: mapped from the reason code).</summary>
    public ConnectReturnCode ReturnCode { get; }

    /// <summary>Session Expiry Interval (0x11) the server uses instead of the client's.</summary>
    public uint? SessionExpiryInterval { get => _set.SessionExpiryInterval; init => _set.SessionExpiryInterval = value; }

    /// <summary>Receive Maximum (0x21) of the server; absent means 65,535.</summary>
    public ushort? ReceiveMaximum { get => _set.ReceiveMaximum; init => _set.ReceiveMaximum = value; }

    /// <summary>Maximum QoS (0x24) the server supports: 0 or 1; absent means 2.</summary>
    public QualityOfService? MaximumQoS { get => _set.MaximumQoS; init => _set.MaximumQoS = value; }

    /// <summary>Retain Available (0x25); absent means true.</summary>
    public bool? RetainAvailable { get => _set.RetainAvailable; init => _set.RetainAvailable = value; }

    /// <summary>Maximum Packet Size (0x27) the server accepts; absent means no limit.</summary>
    public uint? MaximumPacketSize { get => _set.MaximumPacketSize; init => _set.MaximumPacketSize = value; }

    /// <summary>Assigned Client Identifier (0x12), when the client sent an empty one.</summary>
    public string? AssignedClientIdentifier { get => _set.AssignedClientIdentifier; init => _set.AssignedClientIdentifier = value; }

    /// <summary>Topic Alias Maximum (0x22) the server accepts; absent means 0.</summary>
    public ushort? TopicAliasMaximum { get => _set.TopicAliasMaximum; init => _set.TopicAliasMaximum = value; }

    /// <summary>Reason String (0x1F).</summary>
    public string? ReasonString { get => _set.ReasonString; init => _set.ReasonString = value; }

    /// <summary>User Properties (0x26), in order; empty when none.</summary>
    public IReadOnlyList<UserProperty> UserProperties { get => _set.UserPropertyList; init => _set.UserProperties = value is { Count: > 0 } ? value : null; }

    /// <summary>Wildcard Subscription Available (0x28); absent means true.</summary>
    public bool? WildcardSubscriptionAvailable { get => _set.WildcardSubscriptionAvailable; init => _set.WildcardSubscriptionAvailable = value; }

    /// <summary>Subscription Identifiers Available (0x29); absent means true.</summary>
    public bool? SubscriptionIdentifiersAvailable { get => _set.SubscriptionIdentifiersAvailable; init => _set.SubscriptionIdentifiersAvailable = value; }

    /// <summary>Shared Subscription Available (0x2A); absent means true.</summary>
    public bool? SharedSubscriptionAvailable { get => _set.SharedSubscriptionAvailable; init => _set.SharedSubscriptionAvailable = value; }

    /// <summary>Server Keep Alive (0x13): the keep alive the client must use instead of its own.</summary>
    public ushort? ServerKeepAlive { get => _set.ServerKeepAlive; init => _set.ServerKeepAlive = value; }

    /// <summary>Response Information (0x1A): basis for response topics.</summary>
    public string? ResponseInformation { get => _set.ResponseInformation; init => _set.ResponseInformation = value; }

    /// <summary>Server Reference (0x1C): another server to use.</summary>
    public string? ServerReference { get => _set.ServerReference; init => _set.ServerReference = value; }

    /// <summary>Authentication Method (0x15).</summary>
    public string? AuthenticationMethod { get => _set.AuthenticationMethod; init => _set.AuthenticationMethod = value; }

    /// <summary>Authentication Data (0x16).</summary>
    public byte[]? AuthenticationData { get => _set.AuthenticationData; init => _set.AuthenticationData = value; }

    /// <summary>The 3.1.1 return code closest to a 5.0 reason code (3.1.1 has only six).</summary>
    /// <param name="reasonCode">A CONNACK reason code.</param>
    public static ConnectReturnCode ToConnectReturnCode(ReasonCode reasonCode) => reasonCode switch
    {
        ReasonCode.Success => ConnectReturnCode.Accepted,
        ReasonCode.UnsupportedProtocolVersion => ConnectReturnCode.UnacceptableProtocolVersion,
        ReasonCode.ClientIdentifierNotValid => ConnectReturnCode.IdentifierRejected,
        ReasonCode.BadUserNameOrPassword or ReasonCode.BadAuthenticationMethod => ConnectReturnCode.BadUserNameOrPassword,
        ReasonCode.NotAuthorized or ReasonCode.Banned => ConnectReturnCode.NotAuthorized,
        _ => ConnectReturnCode.ServerUnavailable,
    };

    /// <summary>The 5.0 reason code for a 3.1.1 return code.</summary>
    /// <param name="returnCode">A 3.1.1 return code.</param>
    public static ReasonCode ToReasonCode(ConnectReturnCode returnCode) => returnCode switch
    {
        ConnectReturnCode.Accepted => ReasonCode.Success,
        ConnectReturnCode.UnacceptableProtocolVersion => ReasonCode.UnsupportedProtocolVersion,
        ConnectReturnCode.IdentifierRejected => ReasonCode.ClientIdentifierNotValid,
        ConnectReturnCode.BadUserNameOrPassword => ReasonCode.BadUserNameOrPassword,
        ConnectReturnCode.NotAuthorized => ReasonCode.NotAuthorized,
        _ => ReasonCode.ServerUnavailable,
    };

    /// <summary>Decodes a CONNACK frame.</summary>
    /// <param name="frame">A frame of type <see cref="PacketType.ConnAck"/>.</param>
    /// <param name="version">The protocol version the client connected with.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <returns>Whether the frame is a valid CONNACK.</returns>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, [NotNullWhen(true)] out ConnAckPacket? packet, out MqttDecodeError error)
    {
        packet = null;
        bool version5 = PacketBody.IsVersion5(version);
        if (!PacketBody.CheckHeader(frame, PacketType.ConnAck, out error))
        {
            return false;
        }

        var reader = new MqttReader(PacketBody.GetContiguous(frame).Span);
        if (!reader.TryReadByte(out byte acknowledgeFlags) || !reader.TryReadByte(out byte code))
        {
            error = DecodeErrors.Truncated;
            return false;
        }

        if ((acknowledgeFlags & 0xFE) != 0)
        {
            error = DecodeErrors.ConnAckReservedFlags;
            return false;
        }

        bool sessionPresent = acknowledgeFlags == 1;
        if (!version5)
        {
            if (code > (byte)ConnectReturnCode.NotAuthorized)
            {
                error = DecodeErrors.InvalidReturnCode;
                return false;
            }

            // [MQTT-3.2.2-4]: a non-zero return code comes with Session Present 0.
            if (sessionPresent && code != 0)
            {
                error = DecodeErrors.SessionPresentOnFailure;
                return false;
            }

            if (!reader.End)
            {
                error = DecodeErrors.TrailingBytes;
                return false;
            }

            packet = new ConnAckPacket((ConnectReturnCode)code, sessionPresent);
            return true;
        }

        var reasonCode = (ReasonCode)code;
        if (!AllowedReasonCodes.IsAllowed(PacketType.ConnAck, reasonCode))
        {
            error = DecodeErrors.InvalidReasonCode;
            return false;
        }

        // [MQTT-3.2.2-6]: a failure reason code comes with Session Present 0.
        if (sessionPresent && code >= 0x80)
        {
            error = DecodeErrors.SessionPresentOnFailure;
            return false;
        }

        if (!PropertyDecoder.TryDecode(ref reader, AllowedProperties.ConnAck, out PropertySet set, out error))
        {
            return false;
        }

        if (!reader.End)
        {
            error = DecodeErrors.TrailingBytes;
            return false;
        }

        packet = new ConnAckPacket(reasonCode, sessionPresent) { _set = set };
        return true;
    }

    /// <inheritdoc />
    public int GetEncodedSize(MqttProtocolVersion version) => EncodedSize.Packet(GetRemainingLength(version, out _));

    /// <inheritdoc />
    public int Encode(Span<byte> destination, MqttProtocolVersion version)
    {
        int remainingLength = GetRemainingLength(version, out int propertiesLength);
        EncodedSize.EnsureDestination(destination, EncodedSize.Packet(remainingLength));
        var writer = new MqttWriter(destination);
        writer.WriteFixedHeader(PacketType.ConnAck, 0, remainingLength);
        writer.WriteByte(SessionPresent ? (byte)1 : (byte)0);
        if (PacketBody.IsVersion5(version))
        {
            writer.WriteByte((byte)ReasonCode);
            _set.WriteWithPrefix(ref writer, propertiesLength);
        }
        else
        {
            writer.WriteByte((byte)ReturnCode);
        }

        return writer.Position;
    }

    private int GetRemainingLength(MqttProtocolVersion version, out int propertiesLength)
    {
        propertiesLength = 0;
        return PacketBody.IsVersion5(version) ? 2 + _set.GetLengthWithPrefix(out propertiesLength) : 2;
    }
}

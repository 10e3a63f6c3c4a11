using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Mqtt;

/// <summary>
/// CONNECT (spec 3.1): the first packet from a client. Decodes MQTT 3.1 ("MQIsdp", level 3), 3.1.1 and 5.0 and
/// encodes with its own <see cref="ProtocolVersion"/>. Policy checks are the server's: e.g. 3.1.1 requires an empty
/// <see cref="ClientIdentifier"/> to come with <see cref="CleanSession"/> (else CONNACK 0x02) [MQTT-3.1.3-7, 3.1.3-8].
/// </summary>
public sealed class ConnectPacket : IMqttPacket
{
    private static readonly byte[] MqttName = "MQTT"u8.ToArray();
    private static readonly byte[] MqIsdpName = "MQIsdp"u8.ToArray();

    private PropertySet _set;

    /// <summary>Creates a CONNECT; set flags, credentials, will and 5.0 properties with an object initializer.</summary>
    /// <param name="protocolVersion">The version to speak; also decides the encoding.</param>
    /// <param name="clientIdentifier">The Client Identifier (may be empty, spec 3.1.3.1).</param>
    public ConnectPacket(MqttProtocolVersion protocolVersion, string clientIdentifier)
    {
        ArgumentNullException.ThrowIfNull(clientIdentifier);
        PacketBody.EnsureKnown(protocolVersion);
        ProtocolVersion = protocolVersion;
        ClientIdentifier = clientIdentifier;
    }

    /// <inheritdoc />
    public PacketType Type => PacketType.Connect;

    /// <summary>The protocol version (the CONNECT's protocol level).</summary>
    public MqttProtocolVersion ProtocolVersion { get; }

    /// <summary>The Protocol Name: "MQIsdp" for 3.1, otherwise "MQTT" (spec 3.1.2.1).</summary>
    public string ProtocolName => ProtocolVersion == MqttProtocolVersion.V310 ? "MQIsdp" : "MQTT";

    /// <summary>The Protocol Level byte: 3, 4 or 5 (spec 3.1.2.2).</summary>
    public byte ProtocolLevel => (byte)ProtocolVersion;

    /// <summary>The Client Identifier (spec 3.1.3.1).</summary>
    public string ClientIdentifier { get; }

    /// <summary>Clean Start (5.0) / Clean Session (3.1.1): CONNECT flags bit 1.</summary>
    public bool CleanStart { get; init; }

    /// <summary>The 3.1.1 name of <see cref="CleanStart"/> (the same bit).</summary>
    public bool CleanSession { get => CleanStart; init => CleanStart = value; }

    /// <summary>Keep Alive in seconds; 0 turns the mechanism off (spec 3.1.2.10).</summary>
    public ushort KeepAlive { get; init; }

    /// <summary>User Name, or null when the User Name Flag is 0.</summary>
    public string? UserName { get; init; }

    /// <summary>Password bytes, or null when the Password Flag is 0. 3.1.1 allows it only with a user name.</summary>
    public byte[]? Password { get; init; }

    /// <summary>The Will Message, or null when the Will Flag is 0.</summary>
    public WillMessage? Will { get; init; }

    /// <summary>Session Expiry Interval (0x11) in seconds; absent means 0.</summary>
    public uint? SessionExpiryInterval { get => _set.SessionExpiryInterval; init => _set.SessionExpiryInterval = value; }

    /// <summary>Receive Maximum (0x21), 1-65535; absent means 65,535.</summary>
    public ushort? ReceiveMaximum { get => _set.ReceiveMaximum; init => _set.ReceiveMaximum = value; }

    /// <summary>Maximum Packet Size (0x27) the client accepts; absent means no limit.</summary>
    public uint? MaximumPacketSize { get => _set.MaximumPacketSize; init => _set.MaximumPacketSize = value; }

    /// <summary>Topic Alias Maximum (0x22) the client accepts; absent means 0.</summary>
    public ushort? TopicAliasMaximum { get => _set.TopicAliasMaximum; init => _set.TopicAliasMaximum = value; }

    /// <summary>Request Response Information (0x19); absent means false.</summary>
    public bool? RequestResponseInformation { get => _set.RequestResponseInformation; init => _set.RequestResponseInformation = value; }

    /// <summary>Request Problem Information (0x17); absent means true.</summary>
    public bool? RequestProblemInformation { get => _set.RequestProblemInformation; init => _set.RequestProblemInformation = value; }

    /// <summary>User Properties (0x26), in order; empty when none.</summary>
    public IReadOnlyList<UserProperty> UserProperties { get => _set.UserPropertyList; init => _set.UserProperties = value is { Count: > 0 } ? value : null; }

    /// <summary>Authentication Method (0x15) for enhanced authentication.</summary>
    public string? AuthenticationMethod { get => _set.AuthenticationMethod; init => _set.AuthenticationMethod = value; }

    /// <summary>Authentication Data (0x16); only with an Authentication Method.</summary>
    public byte[]? AuthenticationData { get => _set.AuthenticationData; init => _set.AuthenticationData = value; }

    /// <summary>
    /// Decodes a CONNECT frame. An unknown protocol name or level fails with
    /// <see cref="ReasonCode.UnsupportedProtocolVersion"/>; <paramref name="protocolLevel"/> tells the server which
    /// CONNACK to answer with (3.1.1 return code 0x01, or 5.0 reason code 0x84).
    /// </summary>
    /// <param name="frame">A frame of type <see cref="PacketType.Connect"/>.</param>
    /// <param name="packet">The packet, on success.</param>
    /// <param name="error">Why the frame is invalid, on failure.</param>
    /// <param name="protocolLevel">The protocol level byte, or 0 when the packet ends before it.</param>
    /// <returns>Whether the frame is a valid CONNECT.</returns>
    public static bool TryDecode(in PacketFrame frame, [NotNullWhen(true)] out ConnectPacket? packet, out MqttDecodeError error, out byte protocolLevel)
    {
        packet = null;
        protocolLevel = 0;
        if (!PacketBody.CheckHeader(frame, PacketType.Connect, out error))
        {
            return false;
        }

        var reader = new MqttReader(PacketBody.GetContiguous(frame).Span);
        if (!reader.TryReadUtf8(out int nameOffset, out int nameLength, out error))
        {
            return false;
        }

        if (!reader.TryReadByte(out protocolLevel))
        {
            error = DecodeErrors.Truncated;
            return false;
        }

        ReadOnlySpan<byte> name = reader.Slice(nameOffset, nameLength);
        MqttProtocolVersion version;
        if (name.SequenceEqual(MqttName) && protocolLevel is 4 or 5)
        {
            version = (MqttProtocolVersion)protocolLevel;
        }
        else if (name.SequenceEqual(MqIsdpName) && protocolLevel == 3)
        {
            version = MqttProtocolVersion.V310;
        }
        else
        {
            error = DecodeErrors.UnknownProtocol;
            return false;
        }

        bool version5 = version == MqttProtocolVersion.V500;
        if (!reader.TryReadByte(out byte flags) || !reader.TryReadUInt16(out ushort keepAlive))
        {
            error = DecodeErrors.Truncated;
            return false;
        }

        bool userNameFlag = (flags & 0x80) != 0;
        bool passwordFlag = (flags & 0x40) != 0;
        bool willRetain = (flags & 0x20) != 0;
        int willQoS = (flags >> 3) & 0x03;
        bool willFlag = (flags & 0x04) != 0;
        if ((flags & 0x01) != 0)
        {
            error = DecodeErrors.ConnectReservedFlag;
            return false;
        }

        if (!willFlag && (willQoS != 0 || willRetain))
        {
            error = DecodeErrors.WillFlagsWithoutWill;
            return false;
        }

        if (willQoS == 3)
        {
            error = DecodeErrors.WillQoS3;
            return false;
        }

        if (!version5 && passwordFlag && !userNameFlag)
        {
            error = DecodeErrors.PasswordWithoutUserName;
            return false;
        }

        PropertySet set = default;
        if (version5 && !PropertyDecoder.TryDecode(ref reader, AllowedProperties.Connect, out set, out error))
        {
            return false;
        }

        if (!reader.TryReadString(out string clientIdentifier, out error))
        {
            return false;
        }

        WillMessage? will = null;
        if (willFlag && !TryDecodeWill(ref reader, version5, (QualityOfService)willQoS, willRetain, out will, out error))
        {
            return false;
        }

        string? userName = null;
        if (userNameFlag && !reader.TryReadString(out userName, out error))
        {
            return false;
        }

        byte[]? password = null;
        if (passwordFlag)
        {
            if (!reader.TryReadBinary(out byte[] value))
            {
                error = DecodeErrors.Truncated;
                return false;
            }

            password = value;
        }

        if (!reader.End)
        {
            error = DecodeErrors.TrailingBytes;
            return false;
        }

        packet = new ConnectPacket(version, clientIdentifier)
        {
            CleanStart = (flags & 0x02) != 0,
            KeepAlive = keepAlive,
            UserName = userName,
            Password = password,
            Will = will,
        };
        packet._set = set;
        return true;
    }

    /// <summary>The encoded size for <see cref="ProtocolVersion"/>, fixed header included.</summary>
    public int GetEncodedSize() => EncodedSize.Packet(GetRemainingLength(out _, out _));

    /// <summary>The encoded size; <paramref name="version"/> must be <see cref="ProtocolVersion"/>.</summary>
    /// <param name="version">Must equal <see cref="ProtocolVersion"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="version"/> differs from <see cref="ProtocolVersion"/>.</exception>
    public int GetEncodedSize(MqttProtocolVersion version)
    {
        EnsureVersion(version);
        return GetEncodedSize();
    }

    /// <summary>Encodes with <paramref name="version"/>, which must be <see cref="ProtocolVersion"/>.</summary>
    /// <param name="destination">At least <see cref="GetEncodedSize()"/> bytes.</param>
    /// <param name="version">Must equal <see cref="ProtocolVersion"/>.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentException"><paramref name="version"/> differs from <see cref="ProtocolVersion"/>, or the destination is too small.</exception>
    public int Encode(Span<byte> destination, MqttProtocolVersion version)
    {
        EnsureVersion(version);
        return Encode(destination);
    }

    /// <summary>Writes the CONNECT for <see cref="ProtocolVersion"/>.</summary>
    /// <param name="destination">At least <see cref="GetEncodedSize()"/> bytes.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentException">The destination is too small.</exception>
    /// <exception cref="InvalidOperationException">3.1/3.1.1 with a password but no user name.</exception>
    public int Encode(Span<byte> destination)
    {
        int remainingLength = GetRemainingLength(out int propertiesLength, out int willPropertiesLength);
        EncodedSize.EnsureDestination(destination, EncodedSize.Packet(remainingLength));
        bool version5 = ProtocolVersion == MqttProtocolVersion.V500;
        var writer = new MqttWriter(destination);
        writer.WriteFixedHeader(PacketType.Connect, 0, remainingLength);
        writer.WriteBinary(ProtocolVersion == MqttProtocolVersion.V310 ? MqIsdpName : MqttName);
        writer.WriteByte(ProtocolLevel);
        int flags = (UserName is null ? 0 : 0x80) | (Password is null ? 0 : 0x40) | (CleanStart ? 0x02 : 0);
        if (Will is not null)
        {
            flags |= 0x04 | ((int)Will.QoS << 3) | (Will.Retain ? 0x20 : 0);
        }

        writer.WriteByte((byte)flags);
        writer.WriteUInt16(KeepAlive);
        if (version5)
        {
            _set.WriteWithPrefix(ref writer, propertiesLength);
        }

        writer.WriteString(ClientIdentifier);
        if (Will is not null)
        {
            if (version5)
            {
                Will.Set.WriteWithPrefix(ref writer, willPropertiesLength);
            }

            writer.WriteString(Will.Topic);
            writer.WriteBinary(Will.Payload.Span);
        }

        if (UserName is not null)
        {
            writer.WriteString(UserName);
        }

        if (Password is not null)
        {
            writer.WriteBinary(Password);
        }

        return writer.Position;
    }

    private static bool TryDecodeWill(ref MqttReader reader, bool version5, QualityOfService qos, bool retain, out WillMessage? will, out MqttDecodeError error)
    {
        will = null;
        PropertySet set = default;
        if (version5 && !PropertyDecoder.TryDecode(ref reader, AllowedProperties.Will, out set, out error))
        {
            return false;
        }

        if (!reader.TryReadUtf8(out int topicOffset, out int topicLength, out error))
        {
            return false;
        }

        ReadOnlySpan<byte> topic = reader.Slice(topicOffset, topicLength);
        if (!TopicName.IsValid(topic))
        {
            error = DecodeErrors.WillTopicInvalid;
            return false;
        }

        if (!reader.TryReadBinary(out byte[] payload))
        {
            error = DecodeErrors.Truncated;
            return false;
        }

        will = new WillMessage(MqttString.Decode(topic), payload, set) { QoS = qos, Retain = retain };
        return true;
    }

    private void EnsureVersion(MqttProtocolVersion version)
    {
        if (version != ProtocolVersion)
        {
            throw new ArgumentException($"A CONNECT is encoded with its own protocol version ({ProtocolVersion}).", nameof(version));
        }
    }

    private int GetRemainingLength(out int propertiesLength, out int willPropertiesLength)
    {
        bool version5 = ProtocolVersion == MqttProtocolVersion.V500;
        if (!version5 && Password is not null && UserName is null)
        {
            throw new InvalidOperationException("MQTT 3.1.1 does not allow a password without a user name.");
        }

        propertiesLength = 0;
        willPropertiesLength = 0;
        int length = 2 + (ProtocolVersion == MqttProtocolVersion.V310 ? MqIsdpName.Length : MqttName.Length) + 1 + 1 + 2;
        if (version5)
        {
            length += _set.GetLengthWithPrefix(out propertiesLength);
        }

        length += EncodedSize.String(ClientIdentifier);
        if (Will is not null)
        {
            if (version5)
            {
                length += Will.Set.GetLengthWithPrefix(out willPropertiesLength);
            }

            length += EncodedSize.String(Will.Topic) + EncodedSize.Binary(Will.Payload.Length);
        }

        if (UserName is not null)
        {
            length += EncodedSize.String(UserName);
        }

        if (Password is not null)
        {
            length += EncodedSize.Binary(Password.Length);
        }

        return length;
    }
}

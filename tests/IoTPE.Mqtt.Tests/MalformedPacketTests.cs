namespace IoTPE.Mqtt.Tests;

/// <summary>
/// One row per validation rule: a packet that breaks exactly that rule, and the exact error (reason code and
/// message) the spec's rule maps to. The message check proves the packet failed for the intended reason.
/// </summary>
public sealed class MalformedPacketTests
{
    private const MqttProtocolVersion V3 = MqttProtocolVersion.V311;
    private const MqttProtocolVersion V5 = MqttProtocolVersion.V500;

    public static TheoryData<string, string, MqttProtocolVersion, ReasonCode, string> Cases()
    {
        var data = new TheoryData<string, string, MqttProtocolVersion, ReasonCode, string>();
        void Add(string name, byte[] packet, MqttProtocolVersion version, MqttDecodeError error) =>
            data.Add(name, Hex.Of(packet), version, error.ReasonCode, error.Message);

        // Fixed header (spec 2.1).
        Add("remaining length of 5 bytes", Hex.Parse("30 ff ff ff ff 7f"), V3, DecodeErrors.InvalidRemainingLength);
        Add("remaining length not minimal", Hex.Parse("c0 80 00"), V3, DecodeErrors.InvalidRemainingLength);
        Add("packet type 0", Hex.Parse("00 00"), V3, DecodeErrors.InvalidPacketType);
        Add("CONNECT flags 0001", Hex.Parse("11 00"), V3, DecodeErrors.InvalidFlags);
        Add("PUBREL flags 0000", Hex.Parse("60 02 00 01"), V3, DecodeErrors.InvalidFlags);
        Add("SUBSCRIBE flags 0000", Packet(0x80, "0001 0001 61 00"), V3, DecodeErrors.InvalidFlags);
        Add("UNSUBSCRIBE flags 0011", Packet(0xa3, "0001 0001 61"), V3, DecodeErrors.InvalidFlags);
        Add("PINGREQ flags 0001", Hex.Parse("c1 00"), V3, DecodeErrors.InvalidFlags);
        Add("AUTH flags 1000", Hex.Parse("f8 00"), V5, DecodeErrors.InvalidFlags);

        // Strings (spec 1.5.4).
        Add("topic not UTF-8", Packet(0x30, "0002 c328"), V3, DecodeErrors.InvalidString);
        Add("topic with U+0000", Packet(0x30, "0002 6100"), V3, DecodeErrors.InvalidString);
        Add("topic with encoded surrogate", Packet(0x30, "0003 eda080"), V3, DecodeErrors.InvalidString);
        Add("topic with overlong encoding", Packet(0x30, "0002 c0af"), V3, DecodeErrors.InvalidString);
        Add("string longer than packet", Packet(0x30, "0005 61"), V3, DecodeErrors.Truncated);
        Add("client id not UTF-8", Packet(0x10, "0004 4d515454 04 02 003c 0001 ff"), V3, DecodeErrors.InvalidString);
        Add("user property not UTF-8", Packet(0x30, "0001 61 07 26 0001ff 000161"), V5, DecodeErrors.InvalidString);

        // Properties (spec 2.2.2).
        Add("duplicate Payload Format Indicator", Packet(0x30, "0001 61 04 0100 0100"), V5, DecodeErrors.DuplicateProperty);
        Add("duplicate Receive Maximum", Connect5(properties: "06 210001 210002"), V5, DecodeErrors.DuplicateProperty);
        Add("two Subscription Identifiers in SUBSCRIBE", Packet(0x82, "0001 04 0b01 0b02 0001 61 00"), V5, DecodeErrors.DuplicateProperty);
        Add("Session Expiry Interval in PUBLISH", Packet(0x30, "0001 61 05 11 0000000a"), V5, DecodeErrors.PropertyNotAllowed);
        Add("Topic Alias in CONNECT", Connect5(properties: "03 23 0001"), V5, DecodeErrors.PropertyNotAllowed);
        Add("Content Type in PUBACK", Packet(0x40, "0001 00 04 03 0001 61"), V5, DecodeErrors.PropertyNotAllowed);
        Add("Will Delay Interval in CONNECT properties", Connect5(properties: "05 18 00000001"), V5, DecodeErrors.PropertyNotAllowed);
        Add("Reason String in UNSUBSCRIBE", Packet(0xa2, "0001 04 1f 0001 61 0001 61"), V5, DecodeErrors.PropertyNotAllowed);
        Add("Topic Alias in DISCONNECT", Packet(0xe0, "00 03 23 0001"), V5, DecodeErrors.PropertyNotAllowed);
        Add("unknown property 0x7F", Packet(0x30, "0001 61 02 7f 00"), V5, DecodeErrors.PropertyNotAllowed);
        Add("property identifier 0", Packet(0x30, "0001 61 02 00 00"), V5, DecodeErrors.PropertyNotAllowed);
        Add("Property Length beyond packet", Packet(0x30, "0001 61 05 0100"), V5, DecodeErrors.PropertiesTooLong);
        Add("Property Length not minimal", Packet(0x30, "0001 61 8000"), V5, DecodeErrors.InvalidVariableByteInteger);
        Add("Property Length missing", Packet(0x30, "0001 61"), V5, DecodeErrors.Truncated);
        Add("property value truncated", Packet(0x30, "0001 61 03 02 0000"), V5, DecodeErrors.Truncated);
        Add("Receive Maximum 0", Connect5(properties: "03 21 0000"), V5, DecodeErrors.ReceiveMaximumZero);
        Add("Maximum Packet Size 0", Packet(0x20, "00 00 05 27 00000000"), V5, DecodeErrors.MaximumPacketSizeZero);
        Add("Payload Format Indicator 2", Packet(0x30, "0001 61 02 01 02"), V5, DecodeErrors.InvalidPayloadFormatIndicator);
        Add("Request Problem Information 2", Connect5(properties: "02 17 02"), V5, DecodeErrors.InvalidBooleanProperty);
        Add("Request Response Information 2", Connect5(properties: "02 19 02"), V5, DecodeErrors.InvalidBooleanProperty);
        Add("Retain Available 2", Packet(0x20, "00 00 02 25 02"), V5, DecodeErrors.InvalidBooleanProperty);
        Add("Wildcard Subscription Available 2", Packet(0x20, "00 00 02 28 02"), V5, DecodeErrors.InvalidBooleanProperty);
        Add("Maximum QoS 2", Packet(0x20, "00 00 02 24 02"), V5, DecodeErrors.InvalidMaximumQoS);
        Add("Subscription Identifier 0", Packet(0x82, "0001 02 0b00 0001 61 00"), V5, DecodeErrors.SubscriptionIdentifierZero);
        Add("Subscription Identifier not minimal", Packet(0x30, "0001 61 03 0b 8100"), V5, DecodeErrors.InvalidVariableByteInteger);
        Add("Topic Alias 0", Packet(0x30, "0001 61 03 23 0000"), V5, DecodeErrors.TopicAliasZero);
        Add("Authentication Data without Method", Connect5(properties: "04 16 0001 aa"), V5, DecodeErrors.AuthenticationDataWithoutMethod);
        Add("Response Topic with wildcard", Packet(0x30, "0001 61 05 08 0002 612b"), V5, DecodeErrors.InvalidResponseTopic);

        // PUBLISH (spec 3.3).
        Add("PUBLISH QoS 3", Packet(0x36, "0001 61 0001"), V3, DecodeErrors.PublishQoS3);
        Add("PUBLISH DUP at QoS 0", Packet(0x38, "0001 61"), V3, DecodeErrors.PublishDupAtQoS0);
        Add("topic name with +", Packet(0x30, "0003 612f2b"), V3, DecodeErrors.TopicNameWildcard);
        Add("topic name with #", Packet(0x30, "0001 23"), V5, DecodeErrors.TopicNameWildcard);
        Add("empty topic name (3.1.1)", Packet(0x30, "0000"), V3, DecodeErrors.TopicNameEmpty);
        Add("empty topic name without alias (5.0)", Packet(0x30, "0000 00"), V5, DecodeErrors.TopicNameEmpty);
        Add("PUBLISH QoS 1 packet identifier 0", Packet(0x32, "0001 61 0000"), V3, DecodeErrors.PacketIdentifierZero);
        Add("PUBLISH QoS 2 without packet identifier", Packet(0x34, "0001 61"), V3, DecodeErrors.Truncated);

        // CONNECT (spec 3.1).
        Add("unknown protocol name", Packet(0x10, "0004 4d515458 04 02 003c 0000"), V3, DecodeErrors.UnknownProtocol);
        Add("protocol level 6", Packet(0x10, "0004 4d515454 06 02 003c 0000"), V3, DecodeErrors.UnknownProtocol);
        Add("MQIsdp with level 4", Packet(0x10, "0006 4d5149736470 04 02 003c 0000"), V3, DecodeErrors.UnknownProtocol);
        Add("CONNECT reserved flag", Packet(0x10, "0004 4d515454 04 03 003c 0000"), V3, DecodeErrors.ConnectReservedFlag);
        Add("Will QoS without Will Flag", Packet(0x10, "0004 4d515454 04 0a 003c 0000"), V3, DecodeErrors.WillFlagsWithoutWill);
        Add("Will Retain without Will Flag", Connect5(flags: "22"), V5, DecodeErrors.WillFlagsWithoutWill);
        Add("Will QoS 3", Packet(0x10, "0004 4d515454 04 1e 003c 0000 0001 61 0000"), V3, DecodeErrors.WillQoS3);
        Add("password without user name (3.1.1)", Packet(0x10, "0004 4d515454 04 42 003c 0000 0001 61"), V3, DecodeErrors.PasswordWithoutUserName);
        Add("Will Topic with wildcard", Packet(0x10, "0004 4d515454 04 06 003c 0000 0003 612f23 0000"), V3, DecodeErrors.WillTopicInvalid);
        Add("empty Will Topic", Connect5(flags: "06", payload: "0000 00 0000 0000"), V5, DecodeErrors.WillTopicInvalid);
        Add("Will Property not allowed", Connect5(flags: "06", payload: "0000 03 230001 0001 61 0000"), V5, DecodeErrors.PropertyNotAllowed);
        Add("CONNECT with trailing byte", Packet(0x10, "0004 4d515454 04 02 003c 0000 00"), V3, DecodeErrors.TrailingBytes);
        Add("CONNECT truncated in keep alive", Packet(0x10, "0004 4d515454 04 02 00"), V3, DecodeErrors.Truncated);
        Add("CONNECT user name flag without user name", Packet(0x10, "0004 4d515454 04 82 003c 0000"), V3, DecodeErrors.Truncated);

        // CONNACK (spec 3.2).
        Add("CONNACK reserved flags", Packet(0x20, "02 00"), V3, DecodeErrors.ConnAckReservedFlags);
        Add("CONNACK return code 6", Packet(0x20, "00 06"), V3, DecodeErrors.InvalidReturnCode);
        Add("CONNACK session present with failure (3.1.1)", Packet(0x20, "01 05"), V3, DecodeErrors.SessionPresentOnFailure);
        Add("CONNACK session present with failure (5.0)", Packet(0x20, "01 87 00"), V5, DecodeErrors.SessionPresentOnFailure);
        Add("CONNACK reason code 0x10", Packet(0x20, "00 10 00"), V5, DecodeErrors.InvalidReasonCode);
        Add("CONNACK with trailing byte", Packet(0x20, "00 00 00"), V3, DecodeErrors.TrailingBytes);
        Add("CONNACK without Property Length (5.0)", Packet(0x20, "00 00"), V5, DecodeErrors.Truncated);

        // PUBACK, PUBREC, PUBREL, PUBCOMP (spec 3.4-3.7).
        Add("PUBACK packet identifier 0", Packet(0x40, "0000"), V3, DecodeErrors.PacketIdentifierZero);
        Add("PUBACK with reason code in 3.1.1", Packet(0x40, "0001 00"), V3, DecodeErrors.TrailingBytes);
        Add("PUBACK truncated", Packet(0x40, "00"), V3, DecodeErrors.Truncated);
        Add("PUBACK reason code 0x92", Packet(0x40, "0001 92"), V5, DecodeErrors.InvalidReasonCode);
        Add("PUBREC reason code 0x04", Packet(0x50, "0001 04"), V5, DecodeErrors.InvalidReasonCode);
        Add("PUBREL reason code 0x10", Packet(0x62, "0001 10"), V5, DecodeErrors.InvalidReasonCode);
        Add("PUBCOMP reason code 0x80", Packet(0x70, "0001 80"), V5, DecodeErrors.InvalidReasonCode);
        Add("PUBACK with bytes after properties", Packet(0x40, "0001 00 00 ff"), V5, DecodeErrors.TrailingBytes);

        // SUBSCRIBE (spec 3.8).
        Add("SUBSCRIBE without filters (3.1.1)", Packet(0x82, "0001"), V3, DecodeErrors.EmptySubscribe);
        Add("SUBSCRIBE without filters (5.0)", Packet(0x82, "0001 00"), V5, DecodeErrors.EmptySubscribe);
        Add("SUBSCRIBE packet identifier 0", Packet(0x82, "0000 0001 61 00"), V3, DecodeErrors.PacketIdentifierZero);
        Add("SUBSCRIBE options bits 7-6", Packet(0x82, "0001 00 0001 61 c0"), V5, DecodeErrors.SubscriptionOptionsReserved);
        Add("SUBSCRIBE Maximum QoS 3", Packet(0x82, "0001 00 0001 61 03"), V5, DecodeErrors.SubscriptionQoS3);
        Add("SUBSCRIBE Retain Handling 3", Packet(0x82, "0001 00 0001 61 30"), V5, DecodeErrors.RetainHandling3);
        Add("SUBSCRIBE options bits 7-2 (3.1.1)", Packet(0x82, "0001 0001 61 04"), V3, DecodeErrors.SubscriptionOptionsReserved);
        Add("SUBSCRIBE QoS 3 (3.1.1)", Packet(0x82, "0001 0001 61 03"), V3, DecodeErrors.SubscriptionQoS3Malformed);
        Add("SUBSCRIBE without options byte", Packet(0x82, "0001 0001 61"), V3, DecodeErrors.Truncated);
        Add("filter with # not last", Packet(0x82, "0001 0005 612f232f62 00"), V3, DecodeErrors.TopicFilterInvalid);
        Add("filter with + inside a level", Packet(0x82, "0001 0002 612b 00"), V3, DecodeErrors.TopicFilterInvalid);
        Add("empty filter", Packet(0x82, "0001 0000 00"), V3, DecodeErrors.TopicFilterInvalid);
        Add("$share without filter", Packet(0x82, "0001 00 0008 247368617265 2f67 00"), V5, DecodeErrors.TopicFilterInvalid);
        Add("$share with empty share name", Packet(0x82, "0001 00 0009 247368617265 2f2f61 00"), V5, DecodeErrors.TopicFilterInvalid);
        Add("$share with wildcard in share name", Packet(0x82, "0001 00 000b 247368617265 2f672b2f61 00"), V5, DecodeErrors.TopicFilterInvalid);
        Add("No Local on shared subscription", Packet(0x82, "0001 00 000a 247368617265 2f672f61 04"), V5, DecodeErrors.NoLocalOnSharedSubscription);

        // SUBACK (spec 3.9).
        Add("SUBACK return code 0x87 (3.1.1)", Packet(0x90, "0001 87"), V3, DecodeErrors.InvalidReasonCode);
        Add("SUBACK reason code 0x05", Packet(0x90, "0001 00 05"), V5, DecodeErrors.InvalidReasonCode);
        Add("SUBACK without codes", Packet(0x90, "0001"), V3, DecodeErrors.EmptyReasonCodes);
        Add("SUBACK packet identifier 0", Packet(0x90, "0000 00"), V3, DecodeErrors.PacketIdentifierZero);

        // UNSUBSCRIBE and UNSUBACK (spec 3.10, 3.11).
        Add("UNSUBSCRIBE without filters", Packet(0xa2, "0001"), V3, DecodeErrors.EmptyUnsubscribe);
        Add("UNSUBSCRIBE without filters (5.0)", Packet(0xa2, "0001 00"), V5, DecodeErrors.EmptyUnsubscribe);
        Add("UNSUBSCRIBE invalid filter", Packet(0xa2, "0001 0002 6123"), V3, DecodeErrors.TopicFilterInvalid);
        Add("UNSUBSCRIBE packet identifier 0", Packet(0xa2, "0000 0001 61"), V3, DecodeErrors.PacketIdentifierZero);
        Add("UNSUBACK with payload (3.1.1)", Packet(0xb0, "0001 00"), V3, DecodeErrors.TrailingBytes);
        Add("UNSUBACK reason code 0x10", Packet(0xb0, "0001 00 10"), V5, DecodeErrors.InvalidReasonCode);
        Add("UNSUBACK without codes (5.0)", Packet(0xb0, "0001 00"), V5, DecodeErrors.EmptyReasonCodes);

        // PINGREQ, PINGRESP, DISCONNECT, AUTH (spec 3.12-3.15).
        Add("PINGREQ with a body", Packet(0xc0, "00"), V3, DecodeErrors.NotEmpty);
        Add("PINGRESP with a body", Packet(0xd0, "00"), V5, DecodeErrors.NotEmpty);
        Add("DISCONNECT with a body (3.1.1)", Packet(0xe0, "00"), V3, DecodeErrors.NotEmpty);
        Add("DISCONNECT reason code 0x01", Packet(0xe0, "01"), V5, DecodeErrors.InvalidReasonCode);
        Add("DISCONNECT with bytes after properties", Packet(0xe0, "00 00 00"), V5, DecodeErrors.TrailingBytes);
        Add("AUTH in 3.1.1", Packet(0xf0, ""), V3, DecodeErrors.AuthInV311);
        Add("AUTH reason code without Property Length", Packet(0xf0, "18"), V5, DecodeErrors.Truncated);
        Add("AUTH reason code 0x01", Packet(0xf0, "01 00"), V5, DecodeErrors.InvalidReasonCode);
        Add("AUTH without Authentication Method", Packet(0xf0, "18 00"), V5, DecodeErrors.AuthenticationMethodMissing);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rejects_with_the_reason_code_the_spec_requires(string rule, string hex, MqttProtocolVersion version, ReasonCode expectedCode, string expectedMessage)
    {
        MqttDecodeError error = TestCodec.DecodeError(Hex.Parse(hex), version);
        Assert.True(expectedCode == error.ReasonCode, $"{rule}: expected {expectedCode}, got {error}");
        Assert.Equal(expectedMessage, error.Message);
    }

    [Fact]
    public void Every_case_is_valid_once_its_fault_is_removed()
    {
        // Spot checks that the fixtures are only one fault away from a valid packet.
        TestCodec.Decode(Packet(0x30, "0001 61 02 0100"), V5);
        TestCodec.Decode(Packet(0x30, "0001 61 04 0b01 0b02"), V5);
        TestCodec.Decode(Connect5(properties: "03 21 0001"), V5);
        TestCodec.Decode(Packet(0x82, "0001 00 000a 247368617265 2f672f61 00"), V5);
        TestCodec.Decode(Packet(0x10, "0004 4d515454 04 c2 003c 0000 0001 61 0001 62"), V3);
        TestCodec.Decode(Connect5(flags: "42", payload: "0000 0001 62"), V5);
        TestCodec.Decode(Packet(0x30, "0000 03 23 0001"), V5);
        TestCodec.Decode(Packet(0x40, "0001 00"), V5);
        TestCodec.Decode(Packet(0xf0, "18 04 15 0001 61"), V5);
    }

    [Fact]
    public void Unsupported_protocol_level_is_reported_for_the_CONNACK()
    {
        byte[] packet = Packet(0x10, "0004 4d515454 06 02 003c 0000");
        var frame = new PacketFrame(PacketType.Connect, 0, new System.Buffers.ReadOnlySequence<byte>(packet, 2, packet.Length - 2));
        Assert.False(ConnectPacket.TryDecode(frame, out _, out MqttDecodeError error, out byte level));
        Assert.Equal(ReasonCode.UnsupportedProtocolVersion, error.ReasonCode);
        Assert.Equal(6, level);
    }

    [Fact]
    public void Decoding_a_frame_of_another_type_fails_without_throwing()
    {
        byte[] packet = Hex.Parse("c0 00");
        var frame = new PacketFrame(PacketType.PingReq, 0, default);
        Assert.False(PublishPacket.TryDecode(frame, V3, out _, out MqttDecodeError error));
        Assert.Equal(DecodeErrors.WrongPacketType, error);
        Assert.True(PingReqPacket.TryDecode(frame, V3, out PingReqPacket? ping, out _));
        Assert.Same(PingReqPacket.Instance, ping);
        Assert.Equal(packet, TestCodec.Encode(ping, V3));
    }

    /// <summary>A packet: the first byte, the Remaining Length computed from the body, then the body.</summary>
    internal static byte[] Packet(byte first, string body)
    {
        byte[] content = Hex.Parse(body);
        byte[] packet = new byte[1 + VariableByteInteger.GetSize(content.Length) + content.Length];
        packet[0] = first;
        int offset = 1 + VariableByteInteger.Write(packet.AsSpan(1), content.Length);
        content.CopyTo(packet, offset);
        return packet;
    }

    /// <summary>A 5.0 CONNECT with client id "" unless <paramref name="payload"/> says otherwise.</summary>
    internal static byte[] Connect5(string flags = "02", string properties = "00", string payload = "0000") =>
        Packet(0x10, $"0004 4d515454 05 {flags} 003c {properties} {payload}");
}

namespace IoTPE.Mqtt;

/// <summary>The decode failures, created once so the error path does not allocate.</summary>
internal static class DecodeErrors
{
    public static readonly MqttDecodeError Truncated = Malformed("The packet ends inside a field.");
    public static readonly MqttDecodeError TrailingBytes = Malformed("The packet has bytes after its last field.");
    public static readonly MqttDecodeError InvalidString = Malformed("A string is not well-formed UTF-8 or contains U+0000 (spec 1.5.4).");
    public static readonly MqttDecodeError InvalidVariableByteInteger = Malformed("A Variable Byte Integer is longer than 4 bytes or not minimally encoded (spec 1.5.5).");
    public static readonly MqttDecodeError InvalidRemainingLength = Malformed("The Remaining Length is longer than 4 bytes or not minimally encoded (spec 2.1.4).");
    public static readonly MqttDecodeError InvalidFlags = Malformed("Reserved fixed header flags have the wrong value (spec 2.1.3).");
    public static readonly MqttDecodeError InvalidPacketType = Malformed("Packet type 0 is reserved (spec 2.1.2).");
    public static readonly MqttDecodeError WrongPacketType = Malformed("The frame is not of the packet type being decoded.");
    public static readonly MqttDecodeError PacketTooLarge = new(ReasonCode.PacketTooLarge, "The packet is larger than the maximum packet size.");
    public static readonly MqttDecodeError PropertiesTooLong = Malformed("The Property Length exceeds the packet.");
    public static readonly MqttDecodeError PropertyNotAllowed = Malformed("A property identifier is unknown or not allowed in this packet (spec 2.2.2.2).");
    public static readonly MqttDecodeError DuplicateProperty = Protocol("A property that may appear once appears more than once.");
    public static readonly MqttDecodeError InvalidBooleanProperty = Protocol("A property that must be 0 or 1 has another value.");
    public static readonly MqttDecodeError InvalidPayloadFormatIndicator = Protocol("Payload Format Indicator must be 0 or 1 (spec 3.3.2.3.2).");
    public static readonly MqttDecodeError InvalidMaximumQoS = Protocol("Maximum QoS must be 0 or 1 (spec 3.2.2.3.4).");
    public static readonly MqttDecodeError ReceiveMaximumZero = Protocol("Receive Maximum must not be 0.");
    public static readonly MqttDecodeError MaximumPacketSizeZero = Protocol("Maximum Packet Size must not be 0.");
    public static readonly MqttDecodeError SubscriptionIdentifierZero = Protocol("Subscription Identifier must not be 0.");
    public static readonly MqttDecodeError TopicAliasZero = new(ReasonCode.TopicAliasInvalid, "Topic Alias must not be 0 (spec 3.3.2.3.4).");
    public static readonly MqttDecodeError AuthenticationDataWithoutMethod = Protocol("Authentication Data without Authentication Method.");
    public static readonly MqttDecodeError AuthenticationMethodMissing = Protocol("AUTH must carry an Authentication Method (spec 3.15.2.2.2).");
    public static readonly MqttDecodeError InvalidResponseTopic = Protocol("Response Topic must be a valid topic name without wildcards (spec 3.3.2.3.5).");
    public static readonly MqttDecodeError PublishQoS3 = Malformed("PUBLISH with both QoS bits set (spec 3.3.1.2).");
    public static readonly MqttDecodeError PublishDupAtQoS0 = Malformed("PUBLISH with DUP set at QoS 0 (spec 3.3.1.1).");
    public static readonly MqttDecodeError TopicNameWildcard = new(ReasonCode.TopicNameInvalid, "The Topic Name contains a wildcard character (spec 3.3.2.1).");
    public static readonly MqttDecodeError TopicNameEmpty = Protocol("The Topic Name is empty and there is no Topic Alias (spec 3.3.2.1).");
    public static readonly MqttDecodeError PacketIdentifierZero = Protocol("The Packet Identifier is 0 where a non-zero one is required (spec 2.2.1).");
    public static readonly MqttDecodeError UnknownProtocol = new(ReasonCode.UnsupportedProtocolVersion, "Unknown protocol name or level (spec 3.1.2.1, 3.1.2.2).");
    public static readonly MqttDecodeError ConnectReservedFlag = Malformed("CONNECT reserved flag is set (spec 3.1.2.3).");
    public static readonly MqttDecodeError WillFlagsWithoutWill = Malformed("Will QoS or Will Retain set without the Will Flag (spec 3.1.2.6, 3.1.2.7).");
    public static readonly MqttDecodeError WillQoS3 = Malformed("Will QoS is 3 (spec 3.1.2.6).");
    public static readonly MqttDecodeError PasswordWithoutUserName = Malformed("MQTT 3.1.1 forbids a password without a user name (spec 3.1.2.9).");
    public static readonly MqttDecodeError WillTopicInvalid = new(ReasonCode.TopicNameInvalid, "The Will Topic is not a valid topic name.");
    public static readonly MqttDecodeError ConnAckReservedFlags = Malformed("CONNACK acknowledge flags bits 7-1 are reserved (spec 3.2.2.1).");
    public static readonly MqttDecodeError SessionPresentOnFailure = Protocol("CONNACK with Session Present and a failure code (spec 3.2.2.2).");
    public static readonly MqttDecodeError InvalidReasonCode = Protocol("The reason code is not allowed in this packet (spec 2.4).");
    public static readonly MqttDecodeError InvalidReturnCode = Protocol("CONNACK return code is reserved (3.1.1 spec 3.2.2.3).");
    public static readonly MqttDecodeError EmptySubscribe = Protocol("SUBSCRIBE without any topic filter (spec 3.8.3).");
    public static readonly MqttDecodeError EmptyUnsubscribe = Protocol("UNSUBSCRIBE without any topic filter (spec 3.10.3).");
    public static readonly MqttDecodeError EmptyReasonCodes = Protocol("The acknowledgement carries no reason code.");
    public static readonly MqttDecodeError SubscriptionOptionsReserved = Malformed("Reserved subscription option bits are set (spec 3.8.3.1).");
    public static readonly MqttDecodeError SubscriptionQoS3Malformed = Malformed("Requested QoS 3 (3.1.1 spec 3.8.3).");
    public static readonly MqttDecodeError SubscriptionQoS3 = Protocol("Maximum QoS 3 in subscription options (spec 3.8.3.1).");
    public static readonly MqttDecodeError RetainHandling3 = Protocol("Retain Handling 3 in subscription options (spec 3.8.3.1).");
    public static readonly MqttDecodeError TopicFilterInvalid = new(ReasonCode.TopicFilterInvalid, "A Topic Filter is empty or misuses wildcards or $share (spec 4.7, 4.8.2).");
    public static readonly MqttDecodeError NoLocalOnSharedSubscription = Protocol("No Local set on a shared subscription (spec 3.8.3.1).");
    public static readonly MqttDecodeError NotEmpty = Malformed("The packet must have a Remaining Length of 0.");
    public static readonly MqttDecodeError AuthInV311 = Malformed("AUTH does not exist in MQTT 3.1.1 (packet type 15 is reserved).");

    private static MqttDecodeError Malformed(string message) => new(ReasonCode.MalformedPacket, message);

    private static MqttDecodeError Protocol(string message) => new(ReasonCode.ProtocolError, message);
}

namespace IoTPE.Mqtt;

/// <summary>MQTT 5.0 property identifiers (spec 2.2.2.2). Each is encoded as a one byte Variable Byte Integer.</summary>
public enum PropertyIdentifier : byte
{
    /// <summary>0x01 Byte: PUBLISH, Will Properties.</summary>
    PayloadFormatIndicator = 0x01,

    /// <summary>0x02 Four Byte Integer: PUBLISH, Will Properties.</summary>
    MessageExpiryInterval = 0x02,

    /// <summary>0x03 UTF-8 Encoded String: PUBLISH, Will Properties.</summary>
    ContentType = 0x03,

    /// <summary>0x08 UTF-8 Encoded String: PUBLISH, Will Properties.</summary>
    ResponseTopic = 0x08,

    /// <summary>0x09 Binary Data: PUBLISH, Will Properties.</summary>
    CorrelationData = 0x09,

    /// <summary>0x0B Variable Byte Integer: PUBLISH, SUBSCRIBE.</summary>
    SubscriptionIdentifier = 0x0B,

    /// <summary>0x11 Four Byte Integer: CONNECT, CONNACK, DISCONNECT.</summary>
    SessionExpiryInterval = 0x11,

    /// <summary>0x12 UTF-8 Encoded String: CONNACK.</summary>
    AssignedClientIdentifier = 0x12,

    /// <summary>0x13 Two Byte Integer: CONNACK.</summary>
    ServerKeepAlive = 0x13,

    /// <summary>0x15 UTF-8 Encoded String: CONNECT, CONNACK, AUTH.</summary>
    AuthenticationMethod = 0x15,

    /// <summary>0x16 Binary Data: CONNECT, CONNACK, AUTH.</summary>
    AuthenticationData = 0x16,

    /// <summary>0x17 Byte: CONNECT.</summary>
    RequestProblemInformation = 0x17,

    /// <summary>0x18 Four Byte Integer: Will Properties.</summary>
    WillDelayInterval = 0x18,

    /// <summary>0x19 Byte: CONNECT.</summary>
    RequestResponseInformation = 0x19,

    /// <summary>0x1A UTF-8 Encoded String: CONNACK.</summary>
    ResponseInformation = 0x1A,

    /// <summary>0x1C UTF-8 Encoded String: CONNACK, DISCONNECT.</summary>
    ServerReference = 0x1C,

    /// <summary>0x1F UTF-8 Encoded String: CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH.</summary>
    ReasonString = 0x1F,

    /// <summary>0x21 Two Byte Integer: CONNECT, CONNACK.</summary>
    ReceiveMaximum = 0x21,

    /// <summary>0x22 Two Byte Integer: CONNECT, CONNACK.</summary>
    TopicAliasMaximum = 0x22,

    /// <summary>0x23 Two Byte Integer: PUBLISH.</summary>
    TopicAlias = 0x23,

    /// <summary>0x24 Byte: CONNACK.</summary>
    MaximumQoS = 0x24,

    /// <summary>0x25 Byte: CONNACK.</summary>
    RetainAvailable = 0x25,

    /// <summary>0x26 UTF-8 String Pair: every packet with properties; may appear more than once.</summary>
    UserProperty = 0x26,

    /// <summary>0x27 Four Byte Integer: CONNECT, CONNACK.</summary>
    MaximumPacketSize = 0x27,

    /// <summary>0x28 Byte: CONNACK.</summary>
    WildcardSubscriptionAvailable = 0x28,

    /// <summary>0x29 Byte: CONNACK (the spec's "Subscription Identifier(s) Available").</summary>
    SubscriptionIdentifiersAvailable = 0x29,

    /// <summary>0x2A Byte: CONNACK.</summary>
    SharedSubscriptionAvailable = 0x2A,
}

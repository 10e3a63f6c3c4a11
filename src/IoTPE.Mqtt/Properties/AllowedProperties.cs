namespace IoTPE.Mqtt;

/// <summary>
/// Which properties each packet may carry (spec 2.2.2.2), as bit masks indexed by identifier. Bit 63 (no
/// property has that identifier) marks the one case where Subscription Identifier may repeat: PUBLISH.
/// </summary>
internal static class AllowedProperties
{
    public const ulong MultipleSubscriptionIdentifiers = 1UL << 63;

    public const ulong Connect =
        Bit.SessionExpiryInterval | Bit.AuthenticationMethod | Bit.AuthenticationData | Bit.RequestProblemInformation |
        Bit.RequestResponseInformation | Bit.ReceiveMaximum | Bit.TopicAliasMaximum | Bit.UserProperty | Bit.MaximumPacketSize;

    public const ulong Will =
        Bit.PayloadFormatIndicator | Bit.MessageExpiryInterval | Bit.ContentType | Bit.ResponseTopic | Bit.CorrelationData |
        Bit.WillDelayInterval | Bit.UserProperty;

    public const ulong ConnAck =
        Bit.SessionExpiryInterval | Bit.AssignedClientIdentifier | Bit.ServerKeepAlive | Bit.AuthenticationMethod |
        Bit.AuthenticationData | Bit.ResponseInformation | Bit.ServerReference | Bit.ReasonString | Bit.ReceiveMaximum |
        Bit.TopicAliasMaximum | Bit.MaximumQoS | Bit.RetainAvailable | Bit.UserProperty | Bit.MaximumPacketSize |
        Bit.WildcardSubscriptionAvailable | Bit.SubscriptionIdentifiersAvailable | Bit.SharedSubscriptionAvailable;

    public const ulong Publish =
        Bit.PayloadFormatIndicator | Bit.MessageExpiryInterval | Bit.ContentType | Bit.ResponseTopic | Bit.CorrelationData |
        Bit.SubscriptionIdentifier | Bit.TopicAlias | Bit.UserProperty | MultipleSubscriptionIdentifiers;

    /// <summary>PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK.</summary>
    public const ulong Acknowledgement = Bit.ReasonString | Bit.UserProperty;

    public const ulong Subscribe = Bit.SubscriptionIdentifier | Bit.UserProperty;

    public const ulong Unsubscribe = Bit.UserProperty;

    public const ulong Disconnect = Bit.SessionExpiryInterval | Bit.ServerReference | Bit.ReasonString | Bit.UserProperty;

    public const ulong Auth = Bit.AuthenticationMethod | Bit.AuthenticationData | Bit.ReasonString | Bit.UserProperty;

    /// <summary>One bit per property identifier.</summary>
    private static class Bit
    {
        public const ulong PayloadFormatIndicator = 1UL << (int)PropertyIdentifier.PayloadFormatIndicator;
        public const ulong MessageExpiryInterval = 1UL << (int)PropertyIdentifier.MessageExpiryInterval;
        public const ulong ContentType = 1UL << (int)PropertyIdentifier.ContentType;
        public const ulong ResponseTopic = 1UL << (int)PropertyIdentifier.ResponseTopic;
        public const ulong CorrelationData = 1UL << (int)PropertyIdentifier.CorrelationData;
        public const ulong SubscriptionIdentifier = 1UL << (int)PropertyIdentifier.SubscriptionIdentifier;
        public const ulong SessionExpiryInterval = 1UL << (int)PropertyIdentifier.SessionExpiryInterval;
        public const ulong AssignedClientIdentifier = 1UL << (int)PropertyIdentifier.AssignedClientIdentifier;
        public const ulong ServerKeepAlive = 1UL << (int)PropertyIdentifier.ServerKeepAlive;
        public const ulong AuthenticationMethod = 1UL << (int)PropertyIdentifier.AuthenticationMethod;
        public const ulong AuthenticationData = 1UL << (int)PropertyIdentifier.AuthenticationData;
        public const ulong RequestProblemInformation = 1UL << (int)PropertyIdentifier.RequestProblemInformation;
        public const ulong WillDelayInterval = 1UL << (int)PropertyIdentifier.WillDelayInterval;
        public const ulong RequestResponseInformation = 1UL << (int)PropertyIdentifier.RequestResponseInformation;
        public const ulong ResponseInformation = 1UL << (int)PropertyIdentifier.ResponseInformation;
        public const ulong ServerReference = 1UL << (int)PropertyIdentifier.ServerReference;
        public const ulong ReasonString = 1UL << (int)PropertyIdentifier.ReasonString;
        public const ulong ReceiveMaximum = 1UL << (int)PropertyIdentifier.ReceiveMaximum;
        public const ulong TopicAliasMaximum = 1UL << (int)PropertyIdentifier.TopicAliasMaximum;
        public const ulong TopicAlias = 1UL << (int)PropertyIdentifier.TopicAlias;
        public const ulong MaximumQoS = 1UL << (int)PropertyIdentifier.MaximumQoS;
        public const ulong RetainAvailable = 1UL << (int)PropertyIdentifier.RetainAvailable;
        public const ulong UserProperty = 1UL << (int)PropertyIdentifier.UserProperty;
        public const ulong MaximumPacketSize = 1UL << (int)PropertyIdentifier.MaximumPacketSize;
        public const ulong WildcardSubscriptionAvailable = 1UL << (int)PropertyIdentifier.WildcardSubscriptionAvailable;
        public const ulong SubscriptionIdentifiersAvailable = 1UL << (int)PropertyIdentifier.SubscriptionIdentifiersAvailable;
        public const ulong SharedSubscriptionAvailable = 1UL << (int)PropertyIdentifier.SharedSubscriptionAvailable;
    }
}

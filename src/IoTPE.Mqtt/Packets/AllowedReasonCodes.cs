namespace IoTPE.Mqtt;

/// <summary>Which reason codes each MQTT 5.0 packet may carry (spec 2.4 and each packet's reason code table).</summary>
internal static class AllowedReasonCodes
{
    public static bool IsAllowed(PacketType type, ReasonCode code) => type switch
    {
        PacketType.ConnAck => code is ReasonCode.Success or ReasonCode.UnspecifiedError or ReasonCode.MalformedPacket or
            ReasonCode.ProtocolError or ReasonCode.ImplementationSpecificError or ReasonCode.UnsupportedProtocolVersion or
            ReasonCode.ClientIdentifierNotValid or ReasonCode.BadUserNameOrPassword or ReasonCode.NotAuthorized or
            ReasonCode.ServerUnavailable or ReasonCode.ServerBusy or ReasonCode.Banned or ReasonCode.BadAuthenticationMethod or
            ReasonCode.TopicNameInvalid or ReasonCode.PacketTooLarge or ReasonCode.QuotaExceeded or
            ReasonCode.PayloadFormatInvalid or ReasonCode.RetainNotSupported or ReasonCode.QoSNotSupported or
            ReasonCode.UseAnotherServer or ReasonCode.ServerMoved or ReasonCode.ConnectionRateExceeded,
        PacketType.PubAck or PacketType.PubRec => code is ReasonCode.Success or ReasonCode.NoMatchingSubscribers or
            ReasonCode.UnspecifiedError or ReasonCode.ImplementationSpecificError or ReasonCode.NotAuthorized or
            ReasonCode.TopicNameInvalid or ReasonCode.PacketIdentifierInUse or ReasonCode.QuotaExceeded or
            ReasonCode.PayloadFormatInvalid,
        PacketType.PubRel or PacketType.PubComp => code is ReasonCode.Success or ReasonCode.PacketIdentifierNotFound,
        PacketType.SubAck => code is ReasonCode.GrantedQoS0 or ReasonCode.GrantedQoS1 or ReasonCode.GrantedQoS2 or
            ReasonCode.UnspecifiedError or ReasonCode.ImplementationSpecificError or ReasonCode.NotAuthorized or
            ReasonCode.TopicFilterInvalid or ReasonCode.PacketIdentifierInUse or ReasonCode.QuotaExceeded or
            ReasonCode.SharedSubscriptionsNotSupported or ReasonCode.SubscriptionIdentifiersNotSupported or
            ReasonCode.WildcardSubscriptionsNotSupported,
        PacketType.UnsubAck => code is ReasonCode.Success or ReasonCode.NoSubscriptionExisted or ReasonCode.UnspecifiedError or
            ReasonCode.ImplementationSpecificError or ReasonCode.NotAuthorized or ReasonCode.TopicFilterInvalid or
            ReasonCode.PacketIdentifierInUse,
        PacketType.Disconnect => code is ReasonCode.NormalDisconnection or ReasonCode.DisconnectWithWillMessage or
            ReasonCode.UnspecifiedError or ReasonCode.MalformedPacket or ReasonCode.ProtocolError or
            ReasonCode.ImplementationSpecificError or ReasonCode.NotAuthorized or ReasonCode.ServerBusy or
            ReasonCode.ServerShuttingDown or ReasonCode.KeepAliveTimeout or ReasonCode.SessionTakenOver or
            ReasonCode.TopicFilterInvalid or ReasonCode.TopicNameInvalid or ReasonCode.ReceiveMaximumExceeded or
            ReasonCode.TopicAliasInvalid or ReasonCode.PacketTooLarge or ReasonCode.MessageRateTooHigh or
            ReasonCode.QuotaExceeded or ReasonCode.AdministrativeAction or ReasonCode.PayloadFormatInvalid or
            ReasonCode.RetainNotSupported or ReasonCode.QoSNotSupported or ReasonCode.UseAnotherServer or
            ReasonCode.ServerMoved or ReasonCode.SharedSubscriptionsNotSupported or ReasonCode.ConnectionRateExceeded or
            ReasonCode.MaximumConnectTime or ReasonCode.SubscriptionIdentifiersNotSupported or
            ReasonCode.WildcardSubscriptionsNotSupported,
        PacketType.Auth => code is ReasonCode.Success or ReasonCode.ContinueAuthentication or ReasonCode.ReAuthenticate,
        _ => false,
    };

    /// <summary>MQTT 3.1.1 SUBACK return codes (3.1.1 spec 3.9.3): 0x00, 0x01, 0x02 and 0x80.</summary>
    public static bool IsAllowedInSubAckV311(byte code) => code is 0x00 or 0x01 or 0x02 or 0x80;
}

namespace IoTPE.Mqtt.Tests;

/// <summary>Every packet type, in a minimal form and with every field and property populated.</summary>
internal static class SamplePackets
{
    private static readonly UserProperty[] Users = [new("region", "eu"), new("region", "us"), new("ünïcode", "✓ 𝄞")];

    /// <summary>Packets that survive a 5.0 round trip unchanged.</summary>
    public static IEnumerable<(string Name, IMqttPacket Packet)> Version5()
    {
        yield return ("CONNECT minimal", new ConnectPacket(MqttProtocolVersion.V500, ""));
        yield return ("CONNECT full", new ConnectPacket(MqttProtocolVersion.V500, "client-1")
        {
            CleanStart = true,
            KeepAlive = 65535,
            UserName = "user",
            Password = [0, 1, 2, 255],
            SessionExpiryInterval = uint.MaxValue,
            ReceiveMaximum = 100,
            MaximumPacketSize = 1_048_576,
            TopicAliasMaximum = 10,
            RequestResponseInformation = true,
            RequestProblemInformation = false,
            UserProperties = Users,
            AuthenticationMethod = "SCRAM-SHA-1",
            AuthenticationData = [9, 8, 7],
            Will = new WillMessage("devices/1/status", "offline"u8.ToArray())
            {
                QoS = QualityOfService.ExactlyOnce,
                Retain = true,
                WillDelayInterval = 30,
                PayloadFormatIndicator = PayloadFormatIndicator.Utf8,
                MessageExpiryInterval = 3600,
                ContentType = "text/plain",
                ResponseTopic = "devices/1/reply",
                CorrelationData = [1, 2],
                UserProperties = Users,
            },
        });
        yield return ("CONNECT password without user name", new ConnectPacket(MqttProtocolVersion.V500, "c") { Password = [1] });
        yield return ("CONNECT will without properties", new ConnectPacket(MqttProtocolVersion.V500, "c") { Will = new WillMessage("w", default) });
        yield return ("CONNACK minimal", new ConnAckPacket(ReasonCode.Success));
        yield return ("CONNACK full", new ConnAckPacket(ReasonCode.Success, sessionPresent: true)
        {
            SessionExpiryInterval = 120,
            ReceiveMaximum = 20,
            MaximumQoS = QualityOfService.AtLeastOnce,
            RetainAvailable = false,
            MaximumPacketSize = 65536,
            AssignedClientIdentifier = "auto-1",
            TopicAliasMaximum = 10,
            ReasonString = "welcome",
            UserProperties = Users,
            WildcardSubscriptionAvailable = false,
            SubscriptionIdentifiersAvailable = true,
            SharedSubscriptionAvailable = false,
            ServerKeepAlive = 30,
            ResponseInformation = "responses/",
            ServerReference = "other:1883",
            AuthenticationMethod = "SCRAM-SHA-1",
            AuthenticationData = [4, 5],
        });
        yield return ("CONNACK refused", new ConnAckPacket(ReasonCode.BadUserNameOrPassword) { ReasonString = "no" });
        yield return ("PUBLISH QoS 0 minimal", new PublishPacket("a", default));
        yield return ("PUBLISH QoS 1 dup retain", new PublishPacket("sensors/temperature", new byte[64]) { QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 1, Dup = true, Retain = true });
        yield return ("PUBLISH QoS 2 full", new PublishPacket("sensors/ünïcode/𝄞", "{\"t\":21.5}"u8.ToArray())
        {
            QoS = QualityOfService.ExactlyOnce,
            PacketIdentifier = 65535,
            Properties = new PublishProperties
            {
                PayloadFormatIndicator = PayloadFormatIndicator.Utf8,
                MessageExpiryInterval = 60,
                TopicAlias = 3,
                ResponseTopic = "replies/1",
                CorrelationData = [0xca, 0xfe],
                UserProperties = Users,
                SubscriptionIdentifiers = [1, 127, 128, 268_435_455],
                ContentType = "application/json",
            },
        });
        yield return ("PUBLISH alias only", new PublishPacket(ReadOnlyMemory<byte>.Empty, new byte[] { 1 }) { Properties = new PublishProperties { TopicAlias = 1 } });
        foreach (PublishAcknowledgementPacket packet in Acknowledgements(5))
        {
            yield return ($"{packet.Type} {packet.PacketIdentifier}", packet);
        }

        yield return ("SUBSCRIBE minimal", new SubscribePacket(1, [new TopicSubscription("a", new SubscriptionOptions(QualityOfService.AtMostOnce))]));
        yield return ("SUBSCRIBE full", new SubscribePacket(2, [
            new TopicSubscription("sport/+/player1", new SubscriptionOptions(QualityOfService.AtLeastOnce, NoLocal: true)),
            new TopicSubscription("sport/#", new SubscriptionOptions(QualityOfService.ExactlyOnce, RetainAsPublished: true, RetainHandling: RetainHandling.DoNotSend)),
            new TopicSubscription("$share/group/a/b", new SubscriptionOptions(QualityOfService.AtLeastOnce, RetainHandling: RetainHandling.SendAtSubscribeIfNew)),
            new TopicSubscription("#", new SubscriptionOptions(QualityOfService.AtMostOnce)),
        ])
        {
            SubscriptionIdentifier = 268_435_455,
            UserProperties = Users,
        });
        yield return ("SUBACK minimal", new SubAckPacket(1, [ReasonCode.GrantedQoS0]));
        yield return ("SUBACK full", new SubAckPacket(2, [ReasonCode.GrantedQoS1, ReasonCode.GrantedQoS2, ReasonCode.NotAuthorized, ReasonCode.SharedSubscriptionsNotSupported])
        {
            ReasonString = "partly",
            UserProperties = Users,
        });
        yield return ("UNSUBSCRIBE minimal", new UnsubscribePacket(1, ["a"]));
        yield return ("UNSUBSCRIBE full", new UnsubscribePacket(7, ["a/+", "$share/g/#", "b"]) { UserProperties = Users });
        yield return ("UNSUBACK minimal", new UnsubAckPacket(1, [ReasonCode.Success]));
        yield return ("UNSUBACK full", new UnsubAckPacket(9, [ReasonCode.Success, ReasonCode.NoSubscriptionExisted, ReasonCode.TopicFilterInvalid])
        {
            ReasonString = "done",
            UserProperties = Users,
        });
        yield return ("PINGREQ", PingReqPacket.Instance);
        yield return ("PINGRESP", PingRespPacket.Instance);
        yield return ("DISCONNECT minimal", new DisconnectPacket());
        yield return ("DISCONNECT reason only", new DisconnectPacket(ReasonCode.DisconnectWithWillMessage));
        yield return ("DISCONNECT full", new DisconnectPacket(ReasonCode.ServerMoved)
        {
            SessionExpiryInterval = 0,
            ReasonString = "moved",
            ServerReference = "other:1883",
            UserProperties = Users,
        });
        yield return ("AUTH minimal", new AuthPacket());
        yield return ("AUTH full", new AuthPacket(ReasonCode.ContinueAuthentication)
        {
            AuthenticationMethod = "SCRAM-SHA-1",
            AuthenticationData = [1, 2, 3],
            ReasonString = "next",
            UserProperties = Users,
        });
    }

    /// <summary>Packets that survive a 3.1.1 (or 3.1) round trip unchanged: no properties, 3.1.1 codes only.</summary>
    public static IEnumerable<(string Name, IMqttPacket Packet)> Version3()
    {
        yield return ("CONNECT minimal", new ConnectPacket(MqttProtocolVersion.V311, "") { CleanSession = true });
        yield return ("CONNECT full", new ConnectPacket(MqttProtocolVersion.V311, "client-1")
        {
            CleanSession = false,
            KeepAlive = 60,
            UserName = "user",
            Password = "secret"u8.ToArray(),
            Will = new WillMessage("devices/1/status", "offline"u8.ToArray()) { QoS = QualityOfService.AtLeastOnce, Retain = true },
        });
        yield return ("CONNECT 3.1", new ConnectPacket(MqttProtocolVersion.V310, "client-31") { CleanSession = true, KeepAlive = 10, UserName = "u" });
        yield return ("CONNACK accepted", new ConnAckPacket(ConnectReturnCode.Accepted, sessionPresent: true));
        yield return ("CONNACK refused", new ConnAckPacket(ConnectReturnCode.NotAuthorized));
        yield return ("PUBLISH QoS 0", new PublishPacket("a", default));
        yield return ("PUBLISH QoS 1 retain", new PublishPacket("sensors/temperature", new byte[64]) { QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 10, Retain = true });
        yield return ("PUBLISH QoS 2 dup", new PublishPacket("ünïcode/𝄞", new byte[300]) { QoS = QualityOfService.ExactlyOnce, PacketIdentifier = 65535, Dup = true });
        foreach (PublishAcknowledgementPacket packet in Acknowledgements(3))
        {
            yield return ($"{packet.Type}", packet);
        }

        yield return ("SUBSCRIBE", new SubscribePacket(3, [
            new TopicSubscription("a/b", new SubscriptionOptions(QualityOfService.AtMostOnce)),
            new TopicSubscription("a/+", new SubscriptionOptions(QualityOfService.AtLeastOnce)),
            new TopicSubscription("#", new SubscriptionOptions(QualityOfService.ExactlyOnce)),
        ]));
        yield return ("SUBACK", new SubAckPacket(3, [ReasonCode.GrantedQoS0, ReasonCode.GrantedQoS1, ReasonCode.GrantedQoS2, ReasonCode.UnspecifiedError]));
        yield return ("UNSUBSCRIBE", new UnsubscribePacket(4, ["a/b", "#"]));
        yield return ("UNSUBACK", new UnsubAckPacket(4));
        yield return ("PINGREQ", PingReqPacket.Instance);
        yield return ("PINGRESP", PingRespPacket.Instance);
        yield return ("DISCONNECT", new DisconnectPacket());
    }

    /// <summary>The version a sample is encoded with: a CONNECT's own, otherwise <paramref name="version"/>.</summary>
    public static MqttProtocolVersion VersionFor(IMqttPacket packet, MqttProtocolVersion version) =>
        packet is ConnectPacket connect ? connect.ProtocolVersion : version;

    private static IEnumerable<PublishAcknowledgementPacket> Acknowledgements(int version)
    {
        yield return new PubAckPacket(1);
        yield return new PubRecPacket(2);
        yield return new PubRelPacket(3);
        yield return new PubCompPacket(65535);
        if (version == 5)
        {
            yield return new PubAckPacket(4, ReasonCode.NoMatchingSubscribers);
            yield return new PubRecPacket(5, ReasonCode.QuotaExceeded);
            yield return new PubRelPacket(6, ReasonCode.PacketIdentifierNotFound);
            yield return new PubCompPacket(7, ReasonCode.PacketIdentifierNotFound);
            yield return new PubAckPacket(8, ReasonCode.NotAuthorized) { ReasonString = "denied", UserProperties = Users };
            yield return new PubRecPacket(9) { UserProperties = Users };
            yield return new PubRelPacket(10) { ReasonString = "ok" };
            yield return new PubCompPacket(11) { ReasonString = "ok", UserProperties = Users };
        }
    }
}

using System.Buffers;
using System.Text;

namespace IoTPE.Mqtt.Tests;

/// <summary>
/// Packets recorded from mosquitto 2.0.11 (broker, mosquitto_pub, mosquitto_sub) and MQTT.js 5.16 by
/// Vectors/capture.sh: each decodes, re-encodes to identical bytes, and selected fields are what the peer sent.
/// </summary>
public sealed class VectorTests
{
    private const string C2S = "c2s";
    private const string S2C = "s2c";

    public static TheoryData<string> Files() => new(VectorFile.Names);

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_recorded_packet_decodes_and_re_encodes_to_the_same_bytes(string file)
    {
        IReadOnlyList<RecordedPacket> packets = VectorFile.Load(file);
        Assert.NotEmpty(packets);
        foreach (RecordedPacket recorded in packets)
        {
            Assert.True(TestCodec.TryDecode(new ReadOnlySequence<byte>(recorded.Bytes), recorded.Version, out IMqttPacket? packet, out MqttDecodeError error), $"{recorded}: {error}");
            Assert.True(Hex.Of(recorded.Bytes) == Hex.Of(TestCodec.Encode(packet!, recorded.Version)), $"{recorded} re-encoded as {Hex.Of(TestCodec.Encode(packet!, recorded.Version))}");
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Each_recorded_stream_frames_back_into_its_packets_whatever_the_chunking(string file)
    {
        foreach (IGrouping<(string, int), RecordedPacket> stream in VectorFile.Load(file).GroupBy(p => (p.Direction, p.Connection)))
        {
            byte[][] expected = stream.Select(p => p.Bytes).ToArray();
            byte[] bytes = expected.SelectMany(b => b).ToArray();
            foreach (int chunk in new[] { 1, 2, 3, 7, 64, bytes.Length })
            {
                List<byte[]> framed = FramingTests.FrameStream(bytes, Enumerable.Repeat(chunk, bytes.Length), PacketFramer.ProtocolMaximumPacketSize);
                Assert.Equal(expected.Select(b => Hex.Of(b)), framed.Select(b => Hex.Of(b)));
            }
        }
    }

    [Fact]
    public void Mosquitto_sub_v5_connect_carries_every_property_it_was_given()
    {
        var connect = VectorFile.Find<ConnectPacket>("mosquitto-v5", C2S, 1);
        Assert.Equal(MqttProtocolVersion.V500, connect.ProtocolVersion);
        Assert.Equal("sub-v5", connect.ClientIdentifier);
        Assert.True(connect.CleanStart);
        Assert.Equal(60, connect.KeepAlive);
        Assert.Equal(30u, connect.SessionExpiryInterval);
        Assert.Equal((ushort)20, connect.ReceiveMaximum);
        Assert.Equal(65536u, connect.MaximumPacketSize);
        Assert.Equal((ushort)5, connect.TopicAliasMaximum);
        Assert.True(connect.RequestProblemInformation);
        Assert.True(connect.RequestResponseInformation);
        Assert.Equal([new UserProperty("client", "mosquitto_sub")], connect.UserProperties);
        Assert.Null(connect.Will);
        Assert.Null(connect.UserName);
    }

    [Fact]
    public void Mosquitto_v5_will_carries_every_will_property()
    {
        var connect = VectorFile.Find<ConnectPacket>("mosquitto-v5", C2S, 2);
        Assert.Equal("pub-v5-q1", connect.ClientIdentifier);
        Assert.Equal((ushort)20, connect.ReceiveMaximum);
        WillMessage will = connect.Will!;
        Assert.Equal("vectors/will", will.Topic);
        Assert.Equal("gone", Encoding.UTF8.GetString(will.Payload.Span));
        Assert.Equal(QualityOfService.ExactlyOnce, will.QoS);
        Assert.False(will.Retain);
        Assert.Equal(10u, will.WillDelayInterval);
        Assert.Equal(PayloadFormatIndicator.Utf8, will.PayloadFormatIndicator);
        Assert.Equal(60u, will.MessageExpiryInterval);
        Assert.Equal("text/plain", will.ContentType);
        Assert.Equal("vectors/will/reply", will.ResponseTopic);
        Assert.Equal("99"u8.ToArray(), will.CorrelationData);
        Assert.Equal([new UserProperty("w", "x")], will.UserProperties);
    }

    [Fact]
    public void Mosquitto_broker_v5_connack_subscribe_and_suback()
    {
        var connAck = VectorFile.Find<ConnAckPacket>("mosquitto-v5", S2C, 1);
        Assert.Equal(ReasonCode.Success, connAck.ReasonCode);
        Assert.False(connAck.SessionPresent);
        Assert.Equal((ushort)10, connAck.TopicAliasMaximum);
        Assert.Equal((ushort)20, connAck.ReceiveMaximum);
        Assert.Null(connAck.MaximumQoS);

        var subscribe = VectorFile.Find<SubscribePacket>("mosquitto-v5", C2S, 1);
        Assert.Equal(1, subscribe.PacketIdentifier);
        Assert.Equal(7u, subscribe.SubscriptionIdentifier);
        Assert.Equal([new UserProperty("sub", "scribe")], subscribe.UserProperties);
        Assert.Equal([new TopicSubscription("vectors/v5/#", new SubscriptionOptions(QualityOfService.ExactlyOnce))], subscribe.Subscriptions);

        var subAck = VectorFile.Find<SubAckPacket>("mosquitto-v5", S2C, 1);
        Assert.Equal(1, subAck.PacketIdentifier);
        Assert.Equal([ReasonCode.GrantedQoS2], subAck.ReasonCodes);
    }

    [Fact]
    public void Mosquitto_v5_publish_from_client_and_as_forwarded_by_the_broker()
    {
        var sent = VectorFile.Find<PublishPacket>("mosquitto-v5", C2S, 2);
        Assert.Equal("vectors/v5/a", sent.GetTopicName());
        Assert.Equal(QualityOfService.AtLeastOnce, sent.QoS);
        Assert.Equal(1, sent.PacketIdentifier);
        Assert.Equal("{\"t\":21.5}", Encoding.UTF8.GetString(sent.Payload.Span));
        PublishProperties properties = sent.Properties!;
        Assert.Equal(PayloadFormatIndicator.Utf8, properties.PayloadFormatIndicator);
        Assert.Equal(300u, properties.MessageExpiryInterval);
        Assert.Equal("application/json", properties.ContentType);
        Assert.Equal("vectors/reply", properties.ResponseTopic);
        Assert.Equal("0102abcd"u8.ToArray(), properties.CorrelationData);
        Assert.Equal([new UserProperty("unit", "celsius"), new UserProperty("unit", "kelvin")], properties.UserProperties);
        Assert.Empty(properties.SubscriptionIdentifiers);

        // The broker adds the subscriber's Subscription Identifier and writes Message Expiry Interval last.
        var forwarded = VectorFile.Find<PublishPacket>("mosquitto-v5", S2C, 1);
        Assert.Equal(1, forwarded.PacketIdentifier);
        Assert.Equal([7u], forwarded.Properties!.SubscriptionIdentifiers);
        Assert.Equal(300u, forwarded.Properties.MessageExpiryInterval);
        Assert.Equal(properties.UserProperties, forwarded.Properties.UserProperties);
        Assert.Equal(sent.Payload.ToArray(), forwarded.Payload.ToArray());
    }

    [Fact]
    public void Mosquitto_v5_qos2_flow_unsubscribe_and_disconnects()
    {
        Assert.Equal(1, VectorFile.Find<PubRecPacket>("mosquitto-v5", S2C, 3).PacketIdentifier);
        Assert.Equal(1, VectorFile.Find<PubRelPacket>("mosquitto-v5", C2S, 3).PacketIdentifier);
        Assert.Equal(ReasonCode.Success, VectorFile.Find<PubCompPacket>("mosquitto-v5", S2C, 3).ReasonCode);

        var unsubscribe = VectorFile.Find<UnsubscribePacket>("mosquitto-v5", C2S, 4);
        Assert.Equal(["vectors/v5/c"], unsubscribe.TopicFilters);
        Assert.Equal([new UserProperty("un", "sub")], unsubscribe.UserProperties);
        Assert.Equal([ReasonCode.Success], VectorFile.Find<UnsubAckPacket>("mosquitto-v5", S2C, 4).ReasonCodes);

        var disconnect = VectorFile.Find<DisconnectPacket>("mosquitto-v5", C2S, 1);
        Assert.Equal(ReasonCode.NormalDisconnection, disconnect.ReasonCode);
        Assert.Equal(0u, disconnect.SessionExpiryInterval);
        Assert.Equal([new UserProperty("bye", "now")], disconnect.UserProperties);
        Assert.Equal(ReasonCode.DisconnectWithWillMessage, VectorFile.Find<DisconnectPacket>("mosquitto-v5", C2S, 4).ReasonCode);
    }

    [Fact]
    public void Mosquitto_v311_connect_with_will_and_credentials()
    {
        var connect = VectorFile.Find<ConnectPacket>("mosquitto-v311", C2S, 2);
        Assert.Equal(MqttProtocolVersion.V311, connect.ProtocolVersion);
        Assert.Equal("pub-v311-q1", connect.ClientIdentifier);
        Assert.True(connect.CleanSession);
        Assert.Equal("user", connect.UserName);
        Assert.Equal("secret"u8.ToArray(), connect.Password);
        Assert.Equal("vectors/will", connect.Will!.Topic);
        Assert.Equal("gone"u8.ToArray(), connect.Will.Payload.ToArray());
        Assert.Equal(QualityOfService.AtLeastOnce, connect.Will.QoS);
        Assert.True(connect.Will.Retain);
    }

    [Fact]
    public void Mosquitto_v311_broker_answers()
    {
        var connAck = VectorFile.Find<ConnAckPacket>("mosquitto-v311", S2C, 1);
        Assert.Equal(ConnectReturnCode.Accepted, connAck.ReturnCode);
        Assert.Equal([ReasonCode.GrantedQoS2], VectorFile.Find<SubAckPacket>("mosquitto-v311", S2C, 1).ReasonCodes);

        var publish = VectorFile.Find<PublishPacket>("mosquitto-v311", S2C, 1);
        Assert.Equal("vectors/v311/a", publish.GetTopicName());
        Assert.Equal(QualityOfService.AtLeastOnce, publish.QoS);
        Assert.Null(publish.Properties);
        Assert.Equal("hello"u8.ToArray(), publish.Payload.ToArray());

        var retained = VectorFile.Find<PublishPacket>("mosquitto-v311", S2C, 5);
        Assert.True(retained.Retain);
        Assert.Equal("retained"u8.ToArray(), retained.Payload.ToArray());
        Assert.Equal(2, VectorFile.Find<UnsubAckPacket>("mosquitto-v311", S2C, 5).PacketIdentifier);
    }

    [Fact]
    public void Mosquitto_v31_uses_MQIsdp()
    {
        var connect = VectorFile.Find<ConnectPacket>("mosquitto-v31", C2S, 1);
        Assert.Equal(MqttProtocolVersion.V310, connect.ProtocolVersion);
        Assert.Equal("MQIsdp", connect.ProtocolName);
        Assert.Equal(3, connect.ProtocolLevel);
        Assert.Equal("pub-v31", connect.ClientIdentifier);
        Assert.Equal("protocol 3.1"u8.ToArray(), VectorFile.Find<PublishPacket>("mosquitto-v31", C2S, 1).Payload.ToArray());
    }

    [Fact]
    public void Keep_alive_pings_in_both_versions()
    {
        Assert.Equal(5, VectorFile.Find<ConnectPacket>("mosquitto-ping", C2S, 1).KeepAlive);
        Assert.Same(PingReqPacket.Instance, VectorFile.Find<PingReqPacket>("mosquitto-ping", C2S, 1));
        Assert.Same(PingRespPacket.Instance, VectorFile.Find<PingRespPacket>("mosquitto-ping", S2C, 2));
    }

    [Fact]
    public void MqttJs_v5_packets_including_the_long_acknowledgement_forms()
    {
        var connect = VectorFile.Find<ConnectPacket>("mqttjs-v5", C2S, 1);
        Assert.Equal("js-sub-v5", connect.ClientIdentifier);
        Assert.Equal(60u, connect.SessionExpiryInterval);
        Assert.Equal((ushort)100, connect.ReceiveMaximum);

        var publish = VectorFile.Find<PublishPacket>("mqttjs-v5", C2S, 2);
        Assert.Equal([new UserProperty("source", "mqttjs")], publish.Properties!.UserProperties);
        Assert.Equal("from MQTT.js v5"u8.ToArray(), publish.Payload.ToArray());

        // MQTT.js writes reason code and an empty Property Length where mosquitto omits both; both must round trip.
        byte[] pubRec = TestCodec.Encode(VectorFile.Find<PubRecPacket>("mqttjs-v5", C2S, 1), MqttProtocolVersion.V500);
        Assert.Equal("500400020000", Hex.Of(pubRec));
        Assert.Equal("e0020000", Hex.Of(TestCodec.Encode(VectorFile.Find<DisconnectPacket>("mqttjs-v5", C2S, 2), MqttProtocolVersion.V500)));
        Assert.Equal("50020001", Hex.Of(TestCodec.Encode(new PubRecPacket(1), MqttProtocolVersion.V500)));
    }

    [Fact]
    public void MqttJs_v311_connect_with_will_and_credentials()
    {
        var connect = VectorFile.Find<ConnectPacket>("mqttjs-v311", C2S, 2);
        Assert.Equal("js-pub-v311", connect.ClientIdentifier);
        Assert.Equal("user", connect.UserName);
        Assert.Equal(QualityOfService.AtLeastOnce, connect.Will!.QoS);
        Assert.False(connect.Will.Retain);
        Assert.Equal([ReasonCode.GrantedQoS1], VectorFile.Find<SubAckPacket>("mqttjs-v311", S2C, 1).ReasonCodes);
    }
}

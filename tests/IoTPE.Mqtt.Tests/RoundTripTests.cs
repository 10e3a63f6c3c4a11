namespace IoTPE.Mqtt.Tests;

/// <summary>Encode, decode, compare every field, re-encode and compare bytes, for every packet type in both versions.</summary>
public sealed class RoundTripTests
{
    public static TheoryData<string, MqttProtocolVersion> Samples()
    {
        var data = new TheoryData<string, MqttProtocolVersion>();
        foreach ((string name, _) in SamplePackets.Version5())
        {
            data.Add(name, MqttProtocolVersion.V500);
        }

        foreach ((string name, IMqttPacket packet) in SamplePackets.Version3())
        {
            data.Add(name, MqttProtocolVersion.V311);
            if (packet is not ConnectPacket)
            {
                data.Add(name, MqttProtocolVersion.V310);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void Round_trips_field_by_field_and_byte_for_byte(string name, MqttProtocolVersion version)
    {
        IEnumerable<(string Name, IMqttPacket Packet)> samples = version == MqttProtocolVersion.V500 ? SamplePackets.Version5() : SamplePackets.Version3();
        IMqttPacket original = samples.Single(sample => sample.Name == name).Packet;
        version = SamplePackets.VersionFor(original, version);

        byte[] encoded = TestCodec.Encode(original, version);
        IMqttPacket decoded = TestCodec.Decode(encoded, version);
        Assert.Equal(PacketDescription.Of(original), PacketDescription.Of(decoded));
        Assert.Equal(Hex.Of(encoded), Hex.Of(TestCodec.Encode(decoded, version)));

        // The same bytes, one byte per segment, decode to the same packet.
        Assert.True(TestCodec.TryDecode(SegmentedSequence.Create(encoded, Enumerable.Repeat(1, encoded.Length)), version, out IMqttPacket? fromSegments, out MqttDecodeError error), error.ToString());
        Assert.Equal(PacketDescription.Of(original), PacketDescription.Of(fromSegments!));
    }

    [Fact]
    public void Every_packet_type_is_covered_in_both_versions()
    {
        Assert.Equal(15, SamplePackets.Version5().Select(sample => sample.Packet.Type).Distinct().Count());
        Assert.Equal(14, SamplePackets.Version3().Select(sample => sample.Packet.Type).Distinct().Count());
    }

    [Theory]
    [InlineData("puback success", "40 02 00 01")]
    [InlineData("puback reason only", "40 03 00 01 10")]
    [InlineData("pubrel success", "62 02 00 01")]
    [InlineData("disconnect normal", "e0 00")]
    [InlineData("disconnect reason only", "e0 01 04")]
    [InlineData("auth success", "f0 00")]
    [InlineData("connack minimal", "20 03 00 00 00")]
    [InlineData("publish minimal", "30 04 00 01 61 00")]
    public void Encodes_the_shortest_form_the_spec_allows(string name, string expected)
    {
        IMqttPacket packet = name switch
        {
            "puback success" => new PubAckPacket(1),
            "puback reason only" => new PubAckPacket(1, ReasonCode.NoMatchingSubscribers),
            "pubrel success" => new PubRelPacket(1),
            "disconnect normal" => new DisconnectPacket(),
            "disconnect reason only" => new DisconnectPacket(ReasonCode.DisconnectWithWillMessage),
            "auth success" => new AuthPacket(),
            "connack minimal" => new ConnAckPacket(ReasonCode.Success),
            "publish minimal" => new PublishPacket("a", default),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        Assert.Equal(Hex.Of(Hex.Parse(expected)), Hex.Of(TestCodec.Encode(packet, MqttProtocolVersion.V500)));
    }

    [Fact]
    public void Encoding_for_3_1_1_drops_what_3_1_1_cannot_carry()
    {
        const MqttProtocolVersion v3 = MqttProtocolVersion.V311;
        Assert.Equal("40020001", Hex.Of(TestCodec.Encode(new PubAckPacket(1, ReasonCode.NotAuthorized) { ReasonString = "x" }, v3)));
        Assert.Equal("e000", Hex.Of(TestCodec.Encode(new DisconnectPacket(ReasonCode.ServerShuttingDown) { ReasonString = "bye" }, v3)));
        Assert.Equal("90050001008001", Hex.Of(TestCodec.Encode(new SubAckPacket(1, [ReasonCode.GrantedQoS0, ReasonCode.NotAuthorized, ReasonCode.GrantedQoS1]), v3)));
        Assert.Equal("20020004", Hex.Of(TestCodec.Encode(new ConnAckPacket(ReasonCode.BadUserNameOrPassword) { ReasonString = "x" }, v3)));
        Assert.Equal("b0020005", Hex.Of(TestCodec.Encode(new UnsubAckPacket(5, [ReasonCode.Success]), v3)));
        var publish = new PublishPacket("t", new byte[] { 1 }) { Properties = new PublishProperties { ContentType = "x" } };
        Assert.Equal("30040001" + "7401", Hex.Of(TestCodec.Encode(publish, v3)));
        byte[] options = TestCodec.Encode(new SubscribePacket(1, [new TopicSubscription("t", new SubscriptionOptions(QualityOfService.AtLeastOnce, true, true, RetainHandling.DoNotSend))]), v3);
        Assert.Equal(0x01, options[^1]);
    }

    [Fact]
    public void ConnAck_maps_between_return_codes_and_reason_codes()
    {
        Assert.Equal(ConnectReturnCode.UnacceptableProtocolVersion, new ConnAckPacket(ReasonCode.UnsupportedProtocolVersion).ReturnCode);
        Assert.Equal(ConnectReturnCode.IdentifierRejected, new ConnAckPacket(ReasonCode.ClientIdentifierNotValid).ReturnCode);
        Assert.Equal(ConnectReturnCode.ServerUnavailable, new ConnAckPacket(ReasonCode.ServerBusy).ReturnCode);
        Assert.Equal(ConnectReturnCode.NotAuthorized, new ConnAckPacket(ReasonCode.Banned).ReturnCode);
        Assert.Equal(ReasonCode.BadUserNameOrPassword, new ConnAckPacket(ConnectReturnCode.BadUserNameOrPassword).ReasonCode);
        var decoded = (ConnAckPacket)TestCodec.Decode(Hex.Parse("20 02 00 02"), MqttProtocolVersion.V311);
        Assert.Equal(ConnectReturnCode.IdentifierRejected, decoded.ReturnCode);
        Assert.Equal(ReasonCode.ClientIdentifierNotValid, decoded.ReasonCode);
    }

    [Fact]
    public void Forwarding_copy_of_publish_properties_can_change_members()
    {
        var received = (PublishPacket)TestCodec.Decode(
            TestCodec.Encode(SamplePackets.Version5().Single(s => s.Name == "PUBLISH QoS 2 full").Packet, MqttProtocolVersion.V500),
            MqttProtocolVersion.V500);
        var forwarded = received with
        {
            Properties = new PublishProperties(received.Properties!) { TopicAlias = null, SubscriptionIdentifiers = [42] },
            PacketIdentifier = 7,
        };
        var decoded = (PublishPacket)TestCodec.Decode(TestCodec.Encode(forwarded, MqttProtocolVersion.V500), MqttProtocolVersion.V500);
        Assert.Null(decoded.Properties!.TopicAlias);
        Assert.Equal([42u], decoded.Properties.SubscriptionIdentifiers);
        Assert.Equal("application/json", decoded.Properties.ContentType);
        Assert.Equal(received.Properties!.UserProperties, decoded.Properties.UserProperties);
        Assert.Equal(7, decoded.PacketIdentifier);
    }

    [Fact]
    public void Encoding_into_a_small_buffer_throws_and_writes_nothing_past_it()
    {
        var packet = new PublishPacket("topic", new byte[10]);
        byte[] buffer = new byte[packet.GetEncodedSize(MqttProtocolVersion.V311) - 1];
        Assert.Throws<ArgumentException>(() => packet.Encode(buffer, MqttProtocolVersion.V311));
        Assert.All(buffer, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Encoding_rejects_what_the_spec_forbids_to_send()
    {
        Assert.Throws<InvalidOperationException>(() => new PublishPacket("t", default) { QoS = QualityOfService.AtLeastOnce }.GetEncodedSize(MqttProtocolVersion.V500));
        Assert.Throws<InvalidOperationException>(() => new ConnectPacket(MqttProtocolVersion.V311, "c") { Password = [1] }.GetEncodedSize());
        Assert.Throws<InvalidOperationException>(() => new AuthPacket().GetEncodedSize(MqttProtocolVersion.V311));
        Assert.Throws<InvalidOperationException>(() => new SubscribePacket(1, []).GetEncodedSize(MqttProtocolVersion.V311));
        Assert.Throws<ArgumentException>(() => new ConnectPacket(MqttProtocolVersion.V311, "c").Encode(new byte[100], MqttProtocolVersion.V500));
        Assert.Throws<ArgumentException>(() => new PublishPacket(new string('a', 65536), default).GetEncodedSize(MqttProtocolVersion.V311));
    }
}

using System.Buffers;
using System.Text;
using System.Threading.Channels;
using IoTPE.EndToEnd.Tests.Infrastructure;
using MQTTnet;
using MQTTnet.Diagnostics.PacketInspection;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// The published broker with MQTTnet 5.2 (the .NET ecosystem's own client), in MQTT 3.1.1 and 5.0: QoS 0/1/2, persistent
/// sessions across a broker crash, wills, retained messages, topic aliases in both directions and request/response.
/// </summary>
public sealed class MqttNetInteropTests : IAsyncLifetime
{
    /// <summary>Generous: the machine running the tests is shared and slow.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>Bytes that are not UTF-8 and contain a zero, so any text conversion on the way would show.</summary>
    private static readonly byte[] BinaryPayload = [0x00, 0xFF, 0x10, 0x80, 0x7F, (byte)'i', (byte)'o', 0xC3, 0x28, 0x00];

    private readonly List<IMqttClient> _clients = [];
    private IotpeServer _server = null!;

    public async Task InitializeAsync() => _server = await IotpeServer.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (IMqttClient client in _clients)
        {
            client.Dispose();
        }
        await _server.DisposeAsync();
    }

    public static TheoryData<MqttProtocolVersion, MqttQualityOfServiceLevel> VersionsAndQoS => new()
    {
        { MqttProtocolVersion.V311, MqttQualityOfServiceLevel.AtMostOnce },
        { MqttProtocolVersion.V311, MqttQualityOfServiceLevel.AtLeastOnce },
        { MqttProtocolVersion.V311, MqttQualityOfServiceLevel.ExactlyOnce },
        { MqttProtocolVersion.V500, MqttQualityOfServiceLevel.AtMostOnce },
        { MqttProtocolVersion.V500, MqttQualityOfServiceLevel.AtLeastOnce },
        { MqttProtocolVersion.V500, MqttQualityOfServiceLevel.ExactlyOnce },
    };

    public static TheoryData<MqttProtocolVersion> Versions => new() { MqttProtocolVersion.V311, MqttProtocolVersion.V500 };

    [Theory]
    [MemberData(nameof(VersionsAndQoS))]
    public async Task Messages_arrive_with_their_bytes_at_the_granted_qos(MqttProtocolVersion version, MqttQualityOfServiceLevel qos)
    {
        string topic = $"interop/qos/{version}/{(int)qos}";
        (IMqttClient subscriber, Inbox inbox) = await ConnectAsync($"qos-sub-{version}-{(int)qos}", version);
        MqttClientSubscribeResult granted = await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(topic, qos).Build());
        Assert.Equal((MqttClientSubscribeResultCode)qos, Assert.Single(granted.Items).ResultCode);

        (IMqttClient publisher, _) = await ConnectAsync($"qos-pub-{version}-{(int)qos}", version);
        MqttClientPublishResult published = await publisher.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic).WithPayload(BinaryPayload).WithQualityOfServiceLevel(qos).Build());
        Assert.Equal(MqttClientPublishReasonCode.Success, published.ReasonCode);
        // A second message proves the first came exactly once: the broker keeps one publisher's order (§4.6).
        await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("end").WithQualityOfServiceLevel(qos).Build());

        ReceivedMessage first = await inbox.NextAsync();
        ReceivedMessage second = await inbox.NextAsync();
        Assert.Equal(topic, first.Topic);
        Assert.Equal(BinaryPayload, first.Payload);
        Assert.Equal(qos, first.QoS);
        Assert.False(first.Retain);
        Assert.Equal("end", second.PayloadText);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Delivery_is_downgraded_to_the_subscriptions_qos(MqttProtocolVersion version)
    {
        string topic = $"interop/downgrade/{version}";
        (IMqttClient subscriber, Inbox inbox) = await ConnectAsync($"down-sub-{version}", version);
        MqttClientSubscribeResult granted = await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS1, Assert.Single(granted.Items).ResultCode);

        (IMqttClient publisher, _) = await ConnectAsync($"down-pub-{version}", version);
        await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("two")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.ExactlyOnce).Build());

        ReceivedMessage message = await inbox.NextAsync();
        Assert.Equal("two", message.PayloadText);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, message.QoS);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Persistent_session_gets_what_was_queued_while_it_was_offline_after_a_broker_crash(MqttProtocolVersion version)
    {
        string filter = $"interop/persist/{version}/#";
        string clientId = $"persist-{version}";
        (IMqttClient subscriber, _) = await ConnectAsync(clientId, version, cleanSession: false);
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.ExactlyOnce).Build());
        await subscriber.DisconnectAsync();

        (IMqttClient publisher, _) = await ConnectAsync($"persist-pub-{version}", version);
        MqttClientPublishResult one = await publisher.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"interop/persist/{version}/one").WithPayload(BinaryPayload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        MqttClientPublishResult two = await publisher.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic($"interop/persist/{version}/two").WithPayload("two").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.ExactlyOnce).Build());
        Assert.True(one.IsSuccess);
        Assert.True(two.IsSuccess);

        // SIGKILL: what was acknowledged must have been committed (durability contract, docs/architecture.md).
        _server.Kill();
        await _server.RestartAsync();

        (IMqttClient returning, Inbox inbox, MqttClientConnectResult connected) = await ConnectWithResultAsync(clientId, version, cleanSession: false);
        Assert.True(connected.IsSessionPresent);
        ReceivedMessage first = await inbox.NextAsync();
        ReceivedMessage second = await inbox.NextAsync();
        Assert.Equal($"interop/persist/{version}/one", first.Topic);
        Assert.Equal(BinaryPayload, first.Payload);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, first.QoS);
        Assert.Equal($"interop/persist/{version}/two", second.Topic);
        Assert.Equal("two", second.PayloadText);
        Assert.Equal(MqttQualityOfServiceLevel.ExactlyOnce, second.QoS);

        // The subscription itself survived the crash too: no new SUBSCRIBE is needed.
        (IMqttClient after, _) = await ConnectAsync($"persist-pub2-{version}", version);
        await after.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"interop/persist/{version}/three").WithPayload("three")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Assert.Equal("three", (await inbox.NextAsync()).PayloadText);
        Assert.True(returning.IsConnected);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Will_is_published_when_the_connection_closes_without_disconnect(MqttProtocolVersion version)
    {
        string willTopic = $"interop/will/{version}/status";
        (IMqttClient watcher, Inbox watched) = await ConnectAsync($"will-watch-{version}", version);
        await watcher.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(willTopic, MqttQualityOfServiceLevel.ExactlyOnce).Build());

        MqttClientOptionsBuilder options = Options($"will-dying-{version}", version)
            .WithWillTopic(willTopic).WithWillPayload(BinaryPayload)
            .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithWillRetain();
        if (version == MqttProtocolVersion.V500)
        {
            options = options.WithWillContentType("application/octet-stream").WithWillUserProperty("reason", Utf8("crash"))
                .WithWillResponseTopic("interop/will/reply").WithWillCorrelationData([1, 2, 3]);
        }
        IMqttClient dying = new MqttClientFactory().CreateMqttClient();
        await dying.ConnectAsync(options.Build());
        // Dispose closes the socket without a DISCONNECT packet: to the broker an abrupt loss (§3.1.2.5).
        dying.Dispose();

        ReceivedMessage will = await watched.NextAsync();
        Assert.Equal(willTopic, will.Topic);
        Assert.Equal(BinaryPayload, will.Payload);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, will.QoS);
        Assert.False(will.Retain); // forwarded to an existing subscription: retain cleared (§3.3.1.3)
        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal("application/octet-stream", will.ContentType);
            Assert.Equal(new[] { ("reason", "crash") }, will.UserProperties);
            Assert.Equal("interop/will/reply", will.ResponseTopic);
            Assert.Equal(new byte[] { 1, 2, 3 }, will.CorrelationData);
        }

        // Will Retain: the will became the topic's retained message.
        (IMqttClient late, Inbox lateInbox) = await ConnectAsync($"will-late-{version}", version);
        await late.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(willTopic, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        ReceivedMessage retained = await lateInbox.NextAsync();
        Assert.Equal(BinaryPayload, retained.Payload);
        Assert.True(retained.Retain);
    }

    [Fact]
    public async Task Disconnect_with_will_message_publishes_the_will_in_mqtt5()
    {
        string willTopic = "interop/will/v5-reason/status";
        (IMqttClient watcher, Inbox watched) = await ConnectAsync("will4-watch", MqttProtocolVersion.V500);
        await watcher.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(willTopic, MqttQualityOfServiceLevel.AtLeastOnce).Build());

        IMqttClient leaving = new MqttClientFactory().CreateMqttClient();
        _clients.Add(leaving);
        await leaving.ConnectAsync(Options("will4-leaving", MqttProtocolVersion.V500).WithWillTopic(willTopic).WithWillPayload("gone on purpose").Build());
        // Reason code 0x04 (§3.14.2.1): a normal DISCONNECT that still asks for the will.
        await leaving.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.DisconnectWithWillMessage).Build());

        ReceivedMessage will = await watched.NextAsync();
        Assert.Equal(willTopic, will.Topic);
        Assert.Equal("gone on purpose", will.PayloadText);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task Retained_message_goes_to_later_subscribers_flagged_and_an_empty_one_clears_it(MqttProtocolVersion version)
    {
        string topic = $"interop/retained/{version}/setpoint";
        (IMqttClient live, Inbox liveInbox) = await ConnectAsync($"ret-live-{version}", version);
        await live.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce).Build());

        (IMqttClient publisher, _, MqttClientConnectResult connected) = await ConnectWithResultAsync($"ret-pub-{version}", version);
        Assert.True(connected.RetainAvailable);
        await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(BinaryPayload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag().Build());

        ReceivedMessage forwarded = await liveInbox.NextAsync();
        Assert.Equal(BinaryPayload, forwarded.Payload);
        Assert.False(forwarded.Retain); // a live subscription gets it as a normal message (§3.3.1.3)

        (IMqttClient later, Inbox laterInbox) = await ConnectAsync($"ret-later-{version}", version);
        MqttClientSubscribeResult granted = await later.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(topic, MqttQualityOfServiceLevel.ExactlyOnce).Build());
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS2, Assert.Single(granted.Items).ResultCode);
        ReceivedMessage retained = await laterInbox.NextAsync();
        Assert.Equal(topic, retained.Topic);
        Assert.Equal(BinaryPayload, retained.Payload);
        Assert.True(retained.Retain);
        Assert.Equal(MqttQualityOfServiceLevel.AtLeastOnce, retained.QoS); // the QoS it was published with

        // An empty retained payload deletes the retained message (§3.3.1.3).
        await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload([])
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag().Build());
        Assert.Empty((await liveInbox.NextAsync()).Payload); // the deletion itself is routed, which orders it before what follows

        (IMqttClient last, Inbox lastInbox) = await ConnectAsync($"ret-last-{version}", version);
        await last.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        // Retained messages are sent right after the SUBACK, so a retained one would arrive before this marker.
        await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload("marker")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        ReceivedMessage next = await lastInbox.NextAsync();
        Assert.Equal("marker", next.PayloadText);
        Assert.False(next.Retain);
    }

    [Fact]
    public async Task Topic_alias_sent_by_the_client_is_resolved_by_the_broker()
    {
        const string topic = "interop/alias/from-client/a/rather/long/topic/name";
        (IMqttClient subscriber, Inbox inbox) = await ConnectAsync("alias-in-sub", MqttProtocolVersion.V500);
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce).Build());

        IMqttClient publisher = new MqttClientFactory().CreateMqttClient();
        _clients.Add(publisher);
        var sentPublishes = new List<byte[]>();
        publisher.InspectPacketAsync += e =>
        {
            if (e.Direction == MqttPacketFlowDirection.Outbound && e.Buffer[0] >> 4 == 3)
            {
                lock (sentPublishes)
                {
                    sentPublishes.Add(e.Buffer);
                }
            }
            return Task.CompletedTask;
        };
        MqttClientConnectResult connected = await publisher.ConnectAsync(Options("alias-in-pub", MqttProtocolVersion.V500).Build());
        Assert.True(connected.TopicAliasMaximum >= 7, $"the broker allows topic aliases up to {connected.TopicAliasMaximum}");

        // §3.3.2.3.4: the first PUBLISH sets alias 7 for the topic, the next ones send only the alias.
        await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithTopicAlias(7).WithPayload("first")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        for (int i = 2; i <= 3; i++)
        {
            await publisher.PublishAsync(new MqttApplicationMessage
            {
                Topic = string.Empty,
                TopicAlias = 7,
                PayloadSegment = Encoding.UTF8.GetBytes($"by alias {i}"),
                QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce,
            });
        }

        Assert.Equal([(topic, "first"), (topic, "by alias 2"), (topic, "by alias 3")],
            [ToPair(await inbox.NextAsync()), ToPair(await inbox.NextAsync()), ToPair(await inbox.NextAsync())]);
        lock (sentPublishes)
        {
            Assert.Equal([(topic, (ushort)7), ("", (ushort)7), ("", (ushort)7)], sentPublishes.Select(WirePublish.TopicAndAlias));
        }
    }

    [Fact]
    public async Task Topic_alias_is_used_by_the_broker_when_the_client_allows_it()
    {
        const string topic = "interop/alias/to-client/another/long/topic/name";
        IMqttClient subscriber = new MqttClientFactory().CreateMqttClient();
        _clients.Add(subscriber);
        var inbox = new Inbox(subscriber);
        await subscriber.ConnectAsync(Options("alias-out-sub", MqttProtocolVersion.V500).WithTopicAliasMaximum(5).Build());
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce).Build());

        (IMqttClient publisher, _) = await ConnectAsync("alias-out-pub", MqttProtocolVersion.V500);
        for (int i = 1; i <= 3; i++)
        {
            await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload($"m{i}")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        }

        // MQTTnet hands aliases to the application unresolved, which shows exactly what the broker sent.
        ReceivedMessage first = await inbox.NextAsync();
        ReceivedMessage second = await inbox.NextAsync();
        ReceivedMessage third = await inbox.NextAsync();
        Assert.Equal((topic, "m1"), ToPair(first));
        Assert.InRange(first.TopicAlias, (ushort)1, (ushort)5);
        Assert.Equal(("", "m2", first.TopicAlias), (second.Topic, second.PayloadText, second.TopicAlias));
        Assert.Equal(("", "m3", first.TopicAlias), (third.Topic, third.PayloadText, third.TopicAlias));
    }

    [Fact]
    public async Task Request_response_carries_response_topic_correlation_data_and_user_properties()
    {
        byte[] correlation = [0xCA, 0xFE, 0x00, 0x01];
        (IMqttClient responder, Inbox requests) = await ConnectAsync("rr-responder", MqttProtocolVersion.V500);
        await responder.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("interop/rr/requests", MqttQualityOfServiceLevel.AtLeastOnce).Build());
        (IMqttClient requester, Inbox responses) = await ConnectAsync("rr-requester", MqttProtocolVersion.V500);
        await requester.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("interop/rr/responses/rr-requester", MqttQualityOfServiceLevel.AtLeastOnce).Build());

        await requester.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("interop/rr/requests").WithPayload("""{"op":"add","a":2,"b":3}""")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithResponseTopic("interop/rr/responses/rr-requester").WithCorrelationData(correlation)
            .WithContentType("application/json").WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .WithUserProperty("trace", Utf8("t-1")).WithUserProperty("trace", Utf8("t-2")).WithUserProperty("tenant", Utf8("ü-1")).Build());

        ReceivedMessage request = await requests.NextAsync();
        Assert.Equal("interop/rr/responses/rr-requester", request.ResponseTopic);
        Assert.Equal(correlation, request.CorrelationData);
        Assert.Equal("application/json", request.ContentType);
        Assert.Equal(MqttPayloadFormatIndicator.CharacterData, request.PayloadFormat);
        // §3.3.2.3.7: user properties keep their order, repeated names included.
        Assert.Equal([("trace", "t-1"), ("trace", "t-2"), ("tenant", "ü-1")], request.UserProperties);

        await responder.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(request.ResponseTopic!).WithPayload("5")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithCorrelationData(request.CorrelationData!).Build());

        ReceivedMessage response = await responses.NextAsync();
        Assert.Equal("5", response.PayloadText);
        Assert.Equal(correlation, response.CorrelationData);
    }

    private static ReadOnlyMemory<byte> Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static (string Topic, string Payload) ToPair(ReceivedMessage message) => (message.Topic, message.PayloadText);

    private MqttClientOptionsBuilder Options(string clientId, MqttProtocolVersion version, bool cleanSession = true)
    {
        MqttClientOptionsBuilder options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", _server.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(version)
            .WithCleanSession(cleanSession)
            .WithTimeout(Patience);
        if (!cleanSession && version == MqttProtocolVersion.V500)
        {
            options = options.WithSessionExpiryInterval(3600); // 0 would end the session with the connection (§3.1.2.11.2)
        }
        return options;
    }

    private async Task<(IMqttClient Client, Inbox Inbox)> ConnectAsync(string clientId, MqttProtocolVersion version, bool cleanSession = true)
    {
        (IMqttClient client, Inbox inbox, _) = await ConnectWithResultAsync(clientId, version, cleanSession);
        return (client, inbox);
    }

    private async Task<(IMqttClient Client, Inbox Inbox, MqttClientConnectResult Result)> ConnectWithResultAsync(string clientId, MqttProtocolVersion version,
        bool cleanSession = true)
    {
        IMqttClient client = new MqttClientFactory().CreateMqttClient();
        _clients.Add(client);
        var inbox = new Inbox(client); // before CONNECT: a resumed session's messages follow the CONNACK at once
        MqttClientConnectResult result = await client.ConnectAsync(Options(clientId, version, cleanSession).Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return (client, inbox, result);
    }

    /// <summary>A copy of what MQTTnet delivered (its buffers are not the test's to keep).</summary>
    private sealed record ReceivedMessage(
        string Topic,
        byte[] Payload,
        MqttQualityOfServiceLevel QoS,
        bool Retain,
        ushort TopicAlias,
        string? ResponseTopic,
        byte[]? CorrelationData,
        string? ContentType,
        MqttPayloadFormatIndicator PayloadFormat,
        (string Name, string Value)[] UserProperties)
    {
        public string PayloadText => Encoding.UTF8.GetString(Payload);
    }

    /// <summary>The messages one client received, in order, awaited one at a time.</summary>
    private sealed class Inbox
    {
        private readonly Channel<ReceivedMessage> _messages = Channel.CreateUnbounded<ReceivedMessage>();

        public Inbox(IMqttClient client)
        {
            client.ApplicationMessageReceivedAsync += e =>
            {
                MqttApplicationMessage m = e.ApplicationMessage;
                _messages.Writer.TryWrite(new ReceivedMessage(
                    m.Topic ?? "",
                    m.Payload.ToArray(),
                    m.QualityOfServiceLevel,
                    m.Retain,
                    m.TopicAlias,
                    m.ResponseTopic,
                    m.CorrelationData,
                    m.ContentType,
                    m.PayloadFormatIndicator,
                    [.. (m.UserProperties ?? []).Select(p => (p.Name, Encoding.UTF8.GetString(p.ValueBuffer.Span)))]));
                return Task.CompletedTask;
            };
        }

        public async Task<ReceivedMessage> NextAsync()
        {
            using var timeout = new CancellationTokenSource(Patience);
            try
            {
                return await _messages.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no message within {Patience.TotalSeconds} s");
            }
        }
    }

    /// <summary>Reads what an MQTT 5.0 PUBLISH packet carried on the wire, independently of any MQTT library.</summary>
    private static class WirePublish
    {
        /// <summary>The topic name and the Topic Alias property (0 if absent) of an encoded PUBLISH (§3.3.2).</summary>
        public static (string Topic, ushort Alias) TopicAndAlias(byte[] packet)
        {
            int qos = (packet[0] >> 1) & 3;
            int offset = 1;
            ReadVariableByteInteger(packet, ref offset); // remaining length
            int topicLength = (packet[offset] << 8) | packet[offset + 1];
            string topic = Encoding.UTF8.GetString(packet, offset + 2, topicLength);
            offset += 2 + topicLength + (qos > 0 ? 2 : 0);
            int propertiesEnd = ReadVariableByteInteger(packet, ref offset);
            propertiesEnd += offset;
            ushort alias = 0;
            while (offset < propertiesEnd)
            {
                byte id = packet[offset++];
                switch (id)
                {
                    case 0x23: // Topic Alias, two-byte integer
                        alias = (ushort)((packet[offset] << 8) | packet[offset + 1]);
                        offset += 2;
                        break;
                    case 0x01: // Payload Format Indicator, byte
                        offset += 1;
                        break;
                    case 0x02: // Message Expiry Interval, four-byte integer
                        offset += 4;
                        break;
                    default:
                        throw new InvalidDataException($"unexpected PUBLISH property 0x{id:X2}");
                }
            }
            return (topic, alias);
        }

        private static int ReadVariableByteInteger(byte[] buffer, ref int offset)
        {
            int value = 0;
            int shift = 0;
            byte b;
            do
            {
                b = buffer[offset++];
                value |= (b & 0x7F) << shift;
                shift += 7;
            }
            while ((b & 0x80) != 0);
            return value;
        }
    }
}

using System.Text;
using IoTPE.Client.Tests.Infrastructure;
using IoTPE.Mqtt;

namespace IoTPE.Client.Tests;

/// <summary>Publish/subscribe through real brokers, at every QoS and with both protocol versions.</summary>
[Collection(SharedBrokers.Name)]
public sealed class RoundTripTests(BrokerFixture brokers)
{
    private const int Count = 20;

    public static TheoryData<string, MqttProtocolVersion, QualityOfService> Cases()
    {
        var data = new TheoryData<string, MqttProtocolVersion, QualityOfService>();
        foreach (string broker in (string[])["iotpe", "mosquitto"])
        {
            foreach (MqttProtocolVersion version in (MqttProtocolVersion[])[MqttProtocolVersion.V311, MqttProtocolVersion.V500])
            {
                foreach (QualityOfService qos in (QualityOfService[])[QualityOfService.AtMostOnce, QualityOfService.AtLeastOnce, QualityOfService.ExactlyOnce])
                {
                    data.Add(broker, version, qos);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Messages_arrive_once_and_in_order(string brokerName, MqttProtocolVersion version, QualityOfService qos)
    {
        TestBroker broker = brokers.Get(brokerName);
        await using var clients = new TestClients();
        string topic = $"roundtrip/{Guid.NewGuid():N}";
        var log = new MessageLog();
        MqttClient subscriber = clients.Create(clients.Options(broker, TestClients.NewClientId("sub"), version));
        Task subscribed = subscriber.SubscribeAsync(topic + "/#", log.Handler, qos);
        await subscriber.StartAsync();
        await subscribed.WaitAsync(TimeSpan.FromSeconds(10));
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub"), version));

        Task[] published = Enumerable.Range(1, Count)
            .Select(n => publisher.PublishAsync($"{topic}/n", n.ToString(System.Globalization.CultureInfo.InvariantCulture), qos))
            .ToArray();
        await Task.WhenAll(published).WaitAsync(TimeSpan.FromSeconds(10));
        await publisher.PublishAsync($"{topic}/n", "0", qos).WaitAsync(TimeSpan.FromSeconds(10)); // A sentinel behind them.

        // Messages of one publisher and QoS arrive in order: with the sentinel here, so is anything extra (a duplicate).
        Assert.True(await log.WaitForPayloadAsync("0"), $"received {log.Count} of {Count}");
        Assert.Equal(Enumerable.Range(1, Count).Append(0), log.Numbers);
        Assert.All(log.Messages, m =>
        {
            Assert.Equal(qos, m.QoS);
            Assert.Equal($"{topic}/n", m.Topic);
            Assert.Equal(1, m.DeliveryAttempt);
            Assert.False(m.IsRedelivery);
        });
    }

    [Theory]
    [InlineData("iotpe")]
    [InlineData("mosquitto")]
    public async Task Mqtt5_properties_reach_the_subscriber(string brokerName)
    {
        TestBroker broker = brokers.Get(brokerName);
        await using var clients = new TestClients();
        string topic = $"props/{Guid.NewGuid():N}";
        var log = new MessageLog();
        MqttClient subscriber = clients.Create(clients.Options(broker, TestClients.NewClientId("sub")));
        Task subscribed = subscriber.SubscribeAsync(topic, log.Handler);
        await subscriber.StartAsync();
        await subscribed.WaitAsync(TimeSpan.FromSeconds(10));
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub")));

        await publisher.PublishAsync(new MqttMessage(topic, Encoding.UTF8.GetBytes("{\"x\":1}"))
        {
            Properties = new PublishProperties
            {
                ContentType = "application/json",
                ResponseTopic = topic + "/reply",
                CorrelationData = [1, 2, 3],
                UserProperties = [new UserProperty("k", "v")],
            },
        }).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(await log.WaitForCountAsync(1));
        PublishProperties? properties = log.Messages[0].Properties;
        Assert.NotNull(properties);
        Assert.Equal("application/json", properties.ContentType);
        Assert.Equal(topic + "/reply", properties.ResponseTopic);
        Assert.Equal([1, 2, 3], properties.CorrelationData);
        Assert.Equal([new UserProperty("k", "v")], properties.UserProperties);
    }

    [Theory]
    [InlineData("iotpe")]
    [InlineData("mosquitto")]
    public async Task A_restarted_mqtt5_subscriber_does_not_get_the_retained_message_again(string brokerName)
    {
        TestBroker broker = brokers.Get(brokerName);
        await using var clients = new TestClients();
        string topic = $"retained/{Guid.NewGuid():N}";
        string subscriberId = TestClients.NewClientId("sub");
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub")));
        await publisher.PublishAsync(topic, "kept", retain: true).WaitAsync(TimeSpan.FromSeconds(10));

        var first = new MessageLog();
        MqttClient subscriber = await clients.StartAsync(clients.Options(broker, subscriberId));
        await subscriber.SubscribeAsync(topic, first.Handler).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await first.WaitForCountAsync(1));
        await subscriber.DisposeAsync();

        var second = new MessageLog();
        MqttClient restarted = clients.Create(clients.Options(broker, subscriberId));
        Task resubscribed = restarted.SubscribeAsync(topic, second.Handler); // The session has it: Retain Handling 1.
        await restarted.StartAsync();
        await resubscribed.WaitAsync(TimeSpan.FromSeconds(10));
        await publisher.PublishAsync(topic, "new").WaitAsync(TimeSpan.FromSeconds(10));

        // A retained message would be sent with the SUBACK, before "new" was even published: "new" is the sentinel.
        Assert.True(await second.WaitForPayloadAsync("new"));
        Assert.Equal(["new"], second.Payloads);
        await publisher.PublishAsync(topic, string.Empty, retain: true);
    }

    [Theory]
    [InlineData("iotpe", MqttProtocolVersion.V500, false)]
    [InlineData("mosquitto", MqttProtocolVersion.V500, false)]
    [InlineData("iotpe", MqttProtocolVersion.V311, true)] // 3.1.1 has no No Local: the broker is not asked
    public async Task No_Local_keeps_the_clients_own_messages_from_coming_back(string brokerName, MqttProtocolVersion version, bool comesBack)
    {
        TestBroker broker = brokers.Get(brokerName);
        await using var clients = new TestClients();
        string topic = $"nolocal/{Guid.NewGuid():N}";
        var log = new MessageLog();
        MqttClient client = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("self"), version));
        await client.SubscribeAsync(topic, log.Handler, QualityOfService.ExactlyOnce, noLocal: true).WaitAsync(TimeSpan.FromSeconds(10));
        MqttClient other = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("other"), version));

        await client.PublishAsync(topic, "own").WaitAsync(TimeSpan.FromSeconds(10));
        await other.PublishAsync(topic, "other").WaitAsync(TimeSpan.FromSeconds(10));

        // The broker routed "own" before "other", and delivers them to one session in order: "other" is the sentinel.
        Assert.True(await log.WaitForPayloadAsync("other"));
        if (comesBack)
        {
            Assert.True(await log.WaitForCountAsync(2));
        }
        Assert.Equal(comesBack ? ["other", "own"] : ["other"], log.Payloads.Order());
    }

    [Theory]
    [InlineData("iotpe", MqttProtocolVersion.V311)]
    [InlineData("mosquitto", MqttProtocolVersion.V500)]
    public async Task A_retained_message_reaches_a_later_subscriber_once(string brokerName, MqttProtocolVersion version)
    {
        TestBroker broker = brokers.Get(brokerName);
        await using var clients = new TestClients();
        string topic = $"retained/{Guid.NewGuid():N}";
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub"), version));
        await publisher.PublishAsync(topic, "kept", retain: true).WaitAsync(TimeSpan.FromSeconds(10));

        var log = new MessageLog();
        MqttClient subscriber = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("sub"), version));
        await subscriber.SubscribeAsync(topic, log.Handler).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(await log.WaitForCountAsync(1));
        Assert.Equal("kept", log.Messages[0].GetPayloadAsString());
        Assert.True(log.Messages[0].Retain);
        await publisher.PublishAsync(topic, string.Empty, retain: true); // Clear it for other runs.
    }
}

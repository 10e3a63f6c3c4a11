using IoTPE.Client.Tests.Infrastructure;
using IoTPE.Mqtt;
using Microsoft.Data.Sqlite;

namespace IoTPE.Client.Tests;

/// <summary>A failing handler: the message is retried, not acknowledged meanwhile, and given up on after the limit.</summary>
[Collection(SharedBrokers.Name)]
public sealed class HandlerRetryTests(BrokerFixture brokers)
{
    [Theory]
    [InlineData("iotpe", QualityOfService.ExactlyOnce)]
    [InlineData("iotpe", QualityOfService.AtLeastOnce)]
    [InlineData("mosquitto", QualityOfService.ExactlyOnce)]
    [InlineData("mosquitto", QualityOfService.AtLeastOnce)]
    public async Task A_failing_handler_is_retried_until_it_succeeds_while_later_messages_go_on(string brokerName, QualityOfService qos)
    {
        TestBroker broker = brokers.Get(brokerName);
        await using var clients = new TestClients();
        string topic = $"retry/{Guid.NewGuid():N}";
        var attempts = new SignalledList<(string Payload, int Attempt, bool Redelivery)>();
        // Retries 200-400 ms apart: the later message, published right after, is handled in between.
        MqttClient subscriber = clients.Create(clients.Options(broker, TestClients.NewClientId("sub")) with
        {
            HandlerRetryBackoff = new BackoffPolicy(TimeSpan.FromMilliseconds(400), TimeSpan.FromMilliseconds(400)),
        });
        Task subscribed = subscriber.SubscribeAsync(topic, (message, _) =>
        {
            string payload = message.GetPayloadAsString();
            attempts.Add((payload, message.DeliveryAttempt, message.IsRedelivery));

            return payload == "poison" && message.DeliveryAttempt < 3
                ? throw new InvalidOperationException("not yet")
                : ValueTask.CompletedTask;
        }, qos);
        await subscriber.StartAsync();
        await subscribed.WaitAsync(TimeSpan.FromSeconds(10));
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub")));

        await publisher.PublishAsync(topic, "poison", qos);
        await publisher.PublishAsync(topic, "good", qos);

        Assert.True(await attempts.WaitUntilAsync(a => a.Count(x => x.Payload == "poison") >= 3, TimeSpan.FromSeconds(10)), "three attempts");

        // No marker can show that a retry was not scheduled (retries run beside later messages, not in order): a wrong
        // fourth attempt would come one retry interval (200-400 ms) after the third, so wait that long.
        await Task.Delay(400);
        var seen = attempts.Items.ToList();
        Assert.Equal([("poison", 1, false), ("poison", 2, true), ("poison", 3, true)], seen.Where(a => a.Payload == "poison"));
        Assert.Equal([("good", 1, false)], seen.Where(a => a.Payload == "good"));
        Assert.True(seen.IndexOf(("good", 1, false)) < seen.IndexOf(("poison", 3, true)), "the later message was not held up by the retries");
    }

    [Theory]
    [InlineData("iotpe", MqttProtocolVersion.V500)]
    [InlineData("mosquitto", MqttProtocolVersion.V311)]
    public async Task A_qos1_message_whose_handler_failed_is_not_acknowledged_so_the_broker_sends_it_again_after_a_restart(string brokerName, MqttProtocolVersion version)
    {
        TestBroker broker = brokers.Get(brokerName);
        await using var clients = new TestClients();
        string topic = $"unacked/{Guid.NewGuid():N}";
        string subscriberId = TestClients.NewClientId("sub");
        var failed = new TaskCompletionSource();
        MqttClient first = clients.Create(clients.Options(broker, subscriberId, version));
        Task subscribed = first.SubscribeAsync(topic, (_, _) =>
        {
            failed.TrySetResult();
            throw new InvalidOperationException("the database is down");
        }, QualityOfService.AtLeastOnce);
        await first.StartAsync();
        await subscribed.WaitAsync(TimeSpan.FromSeconds(10));
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub"), version));
        await publisher.PublishAsync(topic, "keep me", QualityOfService.AtLeastOnce);
        await failed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await first.DisposeAsync(); // Gone before the handler ever succeeded: no PUBACK went out.

        var log = new MessageLog();
        MqttClient second = clients.Create(clients.Options(broker, subscriberId, version));
        Task resubscribed = second.SubscribeAsync(topic, log.Handler, QualityOfService.AtLeastOnce);
        await second.StartAsync();
        await resubscribed.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(await log.WaitForCountAsync(1), "the broker redelivered the unacknowledged message");
        Assert.Equal("keep me", log.Messages[0].GetPayloadAsString());
    }

    [Theory]
    [InlineData("iotpe")]
    [InlineData("mosquitto")]
    public async Task A_poison_message_is_dead_lettered_after_the_limit_and_does_not_stall_the_window(string brokerName)
    {
        TestBroker broker = brokers.Get(brokerName);
        await using var clients = new TestClients();
        string topic = $"poison/{Guid.NewGuid():N}";
        var deadLetters = new SignalledList<DeadLetter>();
        var log = new MessageLog();
        MqttClientOptions options = clients.Options(broker, TestClients.NewClientId("sub")) with
        {
            ReceiveMaximum = 2, // Two held messages would fill the broker's window for this client (5.0).
            HandlerMaxAttempts = 3,
            HandlerRetryBackoff = new BackoffPolicy(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50)),
            DeadLetterHandler = (letter, _) =>
            {
                deadLetters.Add(letter);
                return ValueTask.CompletedTask;
            },
        };
        MqttClient subscriber = clients.Create(options);
        Task subscribed = subscriber.SubscribeAsync(topic, (message, token) =>
            message.GetPayloadAsString().StartsWith("poison", StringComparison.Ordinal)
                ? throw new FormatException("cannot parse " + message.GetPayloadAsString())
                : log.Handler(message, token));
        await subscriber.StartAsync();
        await subscribed.WaitAsync(TimeSpan.FromSeconds(10));
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub")));

        foreach (string payload in (string[])["poison 1", "poison 2", "poison 3", "1", "2", "3"])
        {
            await publisher.PublishAsync(topic, payload);
        }

        Assert.True(await log.WaitForCountAsync(3, TimeSpan.FromSeconds(20)), "good messages got through after the poison ones were given up on");
        Assert.Equal(["1", "2", "3"], log.Payloads);
        Assert.True(await deadLetters.WaitUntilAsync(d => d.Count == 3, TimeSpan.FromSeconds(10)), $"{deadLetters.Count} dead letters");
        Assert.Equal(["poison 1", "poison 2", "poison 3"], deadLetters.Items.Select(d => d.Message.GetPayloadAsString()).Order());
        Assert.All(deadLetters.Items, d =>
        {
            Assert.Equal(DeadLetterReason.HandlerFailed, d.Reason);
            Assert.Equal(3, d.Attempts);
            Assert.Contains("FormatException", d.Error, StringComparison.Ordinal);
        });

        await subscriber.DisposeAsync();
        using var connection = new SqliteConnection($"Data Source={options.StatePath}");
        connection.Open();
        using SqliteCommand query = connection.CreateCommand();
        query.CommandText = "SELECT count(*) FROM dead_letter WHERE direction = 'in' AND reason = 'HandlerFailed' AND attempts = 3";
        Assert.Equal(3L, (long)query.ExecuteScalar()!);
        query.CommandText = "SELECT count(*) FROM incoming";
        Assert.Equal(0L, (long)query.ExecuteScalar()!);
    }
}

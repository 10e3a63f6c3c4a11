using System.Globalization;
using IoTPE.Client.Tests.Infrastructure;
using IoTPE.Mqtt;

namespace IoTPE.Client.Tests;

/// <summary>State that outlives the connection and the client: offline publishing, restarts, a broker that lost the session.</summary>
public sealed class DurabilityTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Publishes_accepted_while_the_broker_is_down_are_sent_by_the_next_run_in_order()
    {
        const int count = 2000; // Several pages of the state file's backlog.
        await using var clients = new TestClients();
        int port = BrokerProcessPorts.Unused();
        string publisherId = TestClients.NewClientId("pub");

        MqttClient offline = clients.Create(clients.Options(port, publisherId));
        var connection = new ConnectionLog(offline);
        await offline.StartAsync();
        Task[] pending = Enumerable.Range(1, count).Select(n => offline.PublishAsync("offline/t", n.ToString(CultureInfo.InvariantCulture))).ToArray();
        await connection.WaitForFailuresAsync(1, Timeout); // It tried the broker and found nothing there.
        Assert.False(offline.IsConnected);
        Assert.All(pending, task => Assert.False(task.IsCompleted));
        await offline.DisposeAsync(); // Finishes the queued commits, then closes the state file.
        foreach (Task task in pending)
        {
            // The caller stops waiting; the message stays stored.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(Timeout));
        }

        await using MosquittoBroker broker = await MosquittoBroker.StartAsync(port: port);
        var log = new MessageLog();
        MqttClient subscriber = clients.Create(clients.Options(broker, TestClients.NewClientId("sub")));
        Task subscribed = subscriber.SubscribeAsync("offline/t", log.Handler);
        await subscriber.StartAsync();
        await subscribed.WaitAsync(Timeout);

        MqttClient restarted = clients.Create(clients.Options(broker, publisherId));
        await restarted.StartAsync();
        await restarted.PublishAsync("offline/t", "0").WaitAsync(Timeout); // A sentinel behind the backlog.

        // Messages arrive in order: with the sentinel here, so is the backlog and any duplicate of it.
        Assert.True(await log.WaitForPayloadAsync("0", Timeout), $"received {log.Count}");
        Assert.Equal(Enumerable.Range(1, count).Append(0), log.Numbers);
    }

    [Fact]
    public async Task A_backlog_larger_than_memory_waits_in_the_state_file_and_goes_out_in_order()
    {
        const int count = 5000; // More than the client keeps in memory (2,048).
        await using MosquittoBroker broker = await MosquittoBroker.StartAsync();
        await using var clients = new TestClients();
        var log = new MessageLog();
        MqttClient subscriber = clients.Create(clients.Options(broker, TestClients.NewClientId("sub")));
        Task subscribed = subscriber.SubscribeAsync("backlog/t", log.Handler, QualityOfService.AtLeastOnce);
        await subscriber.StartAsync();
        await subscribed.WaitAsync(Timeout);
        await broker.StopAsync(); // The subscriber's session is saved; nothing listens now.

        MqttClient publisher = clients.Create(clients.Options(broker, TestClients.NewClientId("pub")));
        var connection = new ConnectionLog(publisher);
        await publisher.StartAsync();
        Task[] published = Enumerable.Range(1, count).Select(n => publisher.PublishAsync("backlog/t", n.ToString(CultureInfo.InvariantCulture), QualityOfService.AtLeastOnce)).ToArray();
        await connection.WaitForFailuresAsync(1, Timeout); // It tried the broker and found nothing there.
        Assert.False(publisher.IsConnected);

        await broker.RestartAsync();
        await Task.WhenAll(published).WaitAsync(Timeout);
        Assert.True(await log.WaitForCountAsync(count, Timeout), $"received {log.Count}");
        Assert.Equal(Enumerable.Range(1, count), log.Numbers.Take(count));
    }

    [Fact]
    public async Task A_client_started_before_its_broker_connects_when_the_broker_comes_and_completes_the_publish()
    {
        await using var clients = new TestClients();
        int port = BrokerProcessPorts.Unused();
        MqttClient client = clients.Create(clients.Options(port, TestClients.NewClientId("early")));
        var connection = new ConnectionLog(client);
        await client.StartAsync();
        Task published = client.PublishAsync("early/t", "hello", QualityOfService.AtLeastOnce);
        await connection.WaitForFailuresAsync(3, Timeout); // A few failed attempts with backoff.
        Assert.False(published.IsCompleted);

        await using IotpeBroker broker = await IotpeBroker.StartAsync(port);
        await published.WaitAsync(Timeout);
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task A_qos2_message_interrupted_in_its_handler_is_handed_over_again_by_the_next_run_marked_as_a_redelivery()
    {
        await using MosquittoBroker broker = await MosquittoBroker.StartAsync();
        await using var clients = new TestClients();
        string subscriberId = TestClients.NewClientId("sub");
        var inHandler = new TaskCompletionSource();
        MqttClient first = clients.Create(clients.Options(broker, subscriberId));
        Task subscribed = first.SubscribeAsync("interrupted/t", async (_, token) =>
        {
            inHandler.TrySetResult();
            await Task.Delay(System.Threading.Timeout.Infinite, token); // Until the client stops.
        });
        await first.StartAsync();
        await subscribed.WaitAsync(Timeout);
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub")));
        await publisher.PublishAsync("interrupted/t", "once");
        await inHandler.Task.WaitAsync(Timeout);
        await first.DisposeAsync();

        var log = new MessageLog();
        MqttClient second = clients.Create(clients.Options(broker, subscriberId));
        Task resubscribed = second.SubscribeAsync("interrupted/t", log.Handler);
        await second.StartAsync();
        await resubscribed.WaitAsync(Timeout);
        await publisher.PublishAsync("interrupted/t", "sentinel").WaitAsync(Timeout);

        // The sentinel comes after anything the broker resends at the reconnection: a second hand-over of "once" would
        // be here by now.
        Assert.True(await log.WaitForPayloadAsync("sentinel", Timeout), $"received {string.Join(", ", log.Payloads)}");
        Assert.Equal(["once", "sentinel"], log.Payloads);
        MqttMessage message = log.Messages[0];
        Assert.Equal(2, message.DeliveryAttempt);
        Assert.True(message.IsRedelivery);
    }

    [Fact]
    public async Task When_the_broker_lost_the_session_the_client_subscribes_again_by_itself()
    {
        await using MosquittoBroker broker = await MosquittoBroker.StartAsync(persistence: false);
        await using var clients = new TestClients();
        var log = new MessageLog();
        MqttClient subscriber = clients.Create(clients.Options(broker, TestClients.NewClientId("sub")));
        Task subscribed = subscriber.SubscribeAsync("lost/t", log.Handler);
        await subscriber.StartAsync();
        await subscribed.WaitAsync(Timeout);

        var connection = new ConnectionLog(subscriber);
        broker.Kill();
        await broker.RestartAsync(); // No persistence: no session, no subscription.
        Assert.False((await connection.WaitForConnectionAsync(after: 0, Timeout)).SessionPresent);
        // SUBSCRIBEs go out in order, the renewed one first (sent when the connection came up): this one's SUBACK
        // means the broker has the renewed subscription too.
        await subscriber.SubscribeAsync("lost/probe", (_, _) => ValueTask.CompletedTask).WaitAsync(Timeout);
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub")));
        await publisher.PublishAsync("lost/t", "after the restart").WaitAsync(Timeout);

        Assert.True(await log.WaitForCountAsync(1, Timeout), "the subscription was renewed");
        Assert.Equal("after the restart", log.Messages[0].GetPayloadAsString());
    }
}

using IoTPE.Broker.Tests.Infrastructure;

namespace IoTPE.Broker.Tests;

public class PublishSubscribeTests
{
    [Theory]
    [InlineData("mqttv311", 0)]
    [InlineData("mqttv311", 1)]
    [InlineData("mqttv311", 2)]
    [InlineData("mqttv5", 0)]
    [InlineData("mqttv5", 1)]
    [InlineData("mqttv5", 2)]
    public async Task Mosquitto_clients_exchange_messages_at_every_qos(string version, int qos)
    {
        await using RunningBroker broker = await RunningBroker.StartAsync();
        string q = qos.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using SubscriberProcess sub = MosquittoClients.StartSubscriber(broker.Port, "-V", version, "-q", q, "-t", "sensors/#", "-v", "-C", "3");
        await WaitForSubscriptionAsync(broker);
        for (int i = 1; i <= 3; i++)
        {
            var (code, _, err) = await MosquittoClients.PublishAsync(broker.Port, "-V", version, "-q", q, "-t", $"sensors/t{i}", "-m", $"reading {i}");
            Assert.True(code == 0, err);
        }
        IReadOnlyList<string> lines = await sub.WaitForLinesAsync(3);
        Assert.Equal(["sensors/t1 reading 1", "sensors/t2 reading 2", "sensors/t3 reading 3"], lines);
    }

    private static async Task WaitForSubscriptionAsync(RunningBroker broker)
    {
        for (int i = 0; i < 200 && broker.Broker.Counters.Subscriptions == 0; i++)
        {
            await Task.Delay(20);
        }
        Assert.True(broker.Broker.Counters.Subscriptions > 0, "the subscriber never subscribed");
    }
}

using System.Globalization;
using IoTPE.Client.Tests.Infrastructure;
using IoTPE.Mqtt;

namespace IoTPE.Client.Tests;

public sealed class ScratchTests
{
    [Theory]
    [InlineData("mosquitto", MqttProtocolVersion.V311, MqttProtocolVersion.V311)]
    [InlineData("mosquitto", MqttProtocolVersion.V500, MqttProtocolVersion.V311)]
    [InlineData("mosquitto", MqttProtocolVersion.V311, MqttProtocolVersion.V500)]
    [InlineData("iotpe", MqttProtocolVersion.V311, MqttProtocolVersion.V311)]
    public async Task Many(string brokerName, MqttProtocolVersion subVersion, MqttProtocolVersion pubVersion)
    {
        await using TestBroker broker = brokerName == "iotpe" ? await IotpeBroker.StartAsync() : await MosquittoBroker.StartAsync();
        await using var clients = new TestClients();
        var log = new MessageLog();
        MqttClient subscriber = clients.Create(clients.Options(broker, TestClients.NewClientId("sub"), subVersion));
        Task subscribed = subscriber.SubscribeAsync("many/t", log.Handler);
        await subscriber.StartAsync();
        await subscribed;
        MqttClient publisher = await clients.StartAsync(clients.Options(broker, TestClients.NewClientId("pub"), pubVersion));
        Task[] published = Enumerable.Range(1, 400).Select(n => publisher.PublishAsync("many/t", n.ToString(CultureInfo.InvariantCulture))).ToArray();
        await Task.WhenAll(published).WaitAsync(TimeSpan.FromSeconds(30));
        await log.WaitForCountAsync(400, TimeSpan.FromSeconds(10));
        await Task.Delay(300);
        var missing = Enumerable.Range(1, 400).Except(log.Numbers).ToList();
        Assert.True(missing.Count == 0, "missing " + string.Join(",", missing) + "\n" + broker.Output[^Math.Min(3000, broker.Output.Length)..]);
        Assert.Equal(400, log.Count);
    }
}

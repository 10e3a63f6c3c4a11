namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>One iotpe and one mosquitto shared by the tests that do not kill brokers.</summary>
public sealed class BrokerFixture : IAsyncLifetime
{
    public IotpeBroker Iotpe { get; private set; } = null!;

    public MosquittoBroker Mosquitto { get; private set; } = null!;

    public TestBroker Get(string name) => name == "iotpe" ? Iotpe : Mosquitto;

    public async Task InitializeAsync()
    {
        Task<IotpeBroker> iotpe = IotpeBroker.StartAsync();
        Task<MosquittoBroker> mosquitto = MosquittoBroker.StartAsync();
        Iotpe = await iotpe;
        Mosquitto = await mosquitto;
    }

    public async Task DisposeAsync()
    {
        await Iotpe.DisposeAsync();
        await Mosquitto.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class SharedBrokers : ICollectionFixture<BrokerFixture>
{
    public const string Name = "shared brokers";
}

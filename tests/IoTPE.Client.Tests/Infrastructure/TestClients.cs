using IoTPE.Mqtt;

namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>Options and state files for the clients of one test, in a temporary folder deleted at the end.</summary>
public sealed class TestClients : IAsyncDisposable
{
    private static int s_counter;
    private readonly List<MqttClient> _clients = [];

    public TestClients()
    {
        Folder = Directory.CreateTempSubdirectory("iotpe-client-state-").FullName;
    }

    public string Folder { get; }

    /// <summary>A client identifier unique in this test run.</summary>
    public static string NewClientId(string role) =>
        $"{role}-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}";

    /// <summary>Options for a client of <paramref name="broker"/>; its state file is named after the client id.</summary>
    public MqttClientOptions Options(TestBroker broker, string clientId, MqttProtocolVersion version = MqttProtocolVersion.V500) =>
        Options(broker.Port, clientId, version);

    public MqttClientOptions Options(int port, string clientId, MqttProtocolVersion version = MqttProtocolVersion.V500) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        ClientId = clientId,
        StatePath = StatePath(clientId),
        ProtocolVersion = version,
        ReconnectBackoff = new BackoffPolicy(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500)),
        HandlerRetryBackoff = new BackoffPolicy(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200)),
        KeepAlive = TimeSpan.FromSeconds(10),
    };

    public string StatePath(string clientId) => Path.Combine(Folder, clientId + ".db");

    /// <summary>Creates a client (disposed with this object unless disposed before).</summary>
    public MqttClient Create(MqttClientOptions options)
    {
        var client = new MqttClient(options);
        _clients.Add(client);
        return client;
    }

    /// <summary>Creates, starts and waits for the connection of a client.</summary>
    public async Task<MqttClient> StartAsync(MqttClientOptions options)
    {
        MqttClient client = Create(options);
        await client.StartAsync();
        await client.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(15));
        return client;
    }

    /// <summary>A started subscriber (persistent session, QoS 2) whose handler records what arrives on <paramref name="topic"/>; returns once subscribed.</summary>
    public async Task<MessageLog> SubscribeAsync(TestBroker broker, string topic, MqttProtocolVersion version = MqttProtocolVersion.V500)
    {
        var log = new MessageLog();
        MqttClient subscriber = Create(Options(broker, NewClientId("sub"), version));
        Task subscribed = subscriber.SubscribeAsync(topic, log.Handler);
        await subscriber.StartAsync();
        await subscribed.WaitAsync(TimeSpan.FromSeconds(30));
        return log;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (MqttClient client in _clients)
        {
            await client.DisposeAsync();
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}

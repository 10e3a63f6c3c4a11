using System.Net;
using IoTPE.Broker.Security;
using IoTPE.Broker.Storage;
using IoTPE.Broker.Storage.Sqlite;

namespace IoTPE.Broker.Tests.Infrastructure;

/// <summary>A real broker on a loopback port with a real SQLite store in a temporary folder.</summary>
internal sealed class RunningBroker : IAsyncDisposable
{
    private readonly IBrokerStore _store;

    private RunningBroker(string dataFolder, IBrokerStore store, Broker broker)
    {
        DataFolder = dataFolder;
        _store = store;
        Broker = broker;
    }

    public string DataFolder { get; }

    public Broker Broker { get; }

    public int Port => Broker.EndPoints[0].Port;

    public static async Task<RunningBroker> StartAsync(Action<BrokerOptions>? configure = null, string? dataFolder = null,
        IAuthenticator? authenticator = null, IAuthorizer? authorizer = null, Func<IBrokerStore, IBrokerStore>? wrapStore = null, TimeProvider? time = null)
    {
        dataFolder ??= Directory.CreateTempSubdirectory("iotpe-broker-").FullName;
        var options = new BrokerOptions { Listeners = [new ListenerOptions { Address = "127.0.0.1", Port = 0 }], SysInterval = 0 };
        configure?.Invoke(options);
        IBrokerStore store = new SqliteBrokerStore(dataFolder, new SqliteBrokerStoreOptions { SyncMode = SqliteSyncMode.Normal });
        store = wrapStore?.Invoke(store) ?? store;
        var broker = new Broker(options, store, authenticator ?? new AnonymousAuthenticator(allowAnonymous: true), authorizer, timeProvider: time);
        await broker.StartAsync();
        return new RunningBroker(dataFolder, store, broker);
    }

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        await _store.DisposeAsync();
    }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);
}

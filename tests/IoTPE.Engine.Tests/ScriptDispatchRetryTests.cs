using System.Globalization;
using IoTPE.Broker;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Scripts;
using IoTPE.Broker.Storage.Sqlite;
using IoTPE.Engine.Storage.Sqlite;
using IoTPE.TestSupport;

namespace IoTPE.Engine.Tests;

/// <summary>
/// A run request whose script cannot be read for a moment (the engine database failing) is tried
/// again, and the account's later requests wait for it: runs of one account keep their order.
/// The engine, the broker, the SQLite stores and the MQTT clients are real; only the script store
/// is wrapped to fail its first reads.
/// </summary>
public sealed class ScriptDispatchRetryTests : IAsyncLifetime
{
    private const string Password = "s3cret-pw";
    private readonly string _folder = Directory.CreateTempSubdirectory("iotpe-engine-").FullName;
    private SqliteEngineDatabase _database = null!;
    private SqliteAccountDatabases _accountDatabases = null!;
    private SqliteBrokerStore _brokerStore = null!;
    private ProcessEngine _engine = null!;
    private Broker.Broker _broker = null!;
    private FailingScriptStore _scripts = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteEngineDatabase(_folder);
        var accounts = new SqliteAccountStore(_database);
        accounts.AddAccount(new Account("acme", PasswordHasher.Hash(Password), DateTimeOffset.UtcNow));
        _scripts = new FailingScriptStore(new SqliteScriptStore(_database));
        _scripts.Save("acme", "echo", "return Number(message.payload);", new EngineOptions().ScriptQuota, out _);
        _scripts.Save("other", "echo", "return Number(message.payload);", new EngineOptions().ScriptQuota, out _);
        _accountDatabases = new SqliteAccountDatabases(_folder, 1024 * 1024);
        var stores = new EngineStores(accounts, _scripts, new SqliteKeyValueStore(_database), _accountDatabases);
        _engine = new ProcessEngine(stores, new EngineOptions { ScriptFolder = Path.Combine(_folder, "scripts") }, allowAnonymous: false);
        _brokerStore = new SqliteBrokerStore(_folder, new SqliteBrokerStoreOptions { SyncMode = SqliteSyncMode.Normal });
        _broker = new Broker.Broker(new BrokerOptions { Listeners = [new ListenerOptions { Address = "127.0.0.1", Port = 0 }], SysInterval = 0 },
            _brokerStore, _engine.Authenticator, _engine.Authorizer);
        _broker.LoadState();
        _engine.Attach(_broker);
        await _broker.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _engine.DisposeAsync();
        await _brokerStore.DisposeAsync();
        _accountDatabases.Dispose();
        _database.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Theory]
    [InlineData(2)] // dispatched on the third attempt
    [InlineData(5)] // never dispatched: reported, and the requests behind it go on
    public async Task Requests_behind_one_that_is_retried_wait_for_it(int failingReads)
    {
        int port = _broker.EndPoints[0].Port;
        using OutputCollector results = MosquittoClients.StartSubscriber(port, ["-u", "acme", "-P", Password, "-t", "/acme/run/echo/+"]);
        await Task.Delay(500);
        _scripts.FailNextReads(failingReads);

        ProcessRun publisher = await ProcessRun.RunAsync("mosquitto_pub",
            ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-u", "acme", "-P", Password, "-q", "1", "-t", "/acme/run/echo", "-l"],
            TimeSpan.FromSeconds(20), standardInput: "1\n2\n3\n4\n5\n");
        Assert.True(publisher.ExitCode == 0, publisher.StandardError);

        IReadOnlyList<string> lines = await results.WaitForLinesAsync(5, TimeSpan.FromSeconds(20));
        Assert.Equal(5, lines.Count);
        if (failingReads < 5)
        {
            Assert.Equal(["1", "2", "3", "4", "5"], lines);
        }
        else
        {
            // Request 1 was given up after five attempts: an error on the error topic, then 2 to 5 in order.
            Assert.Contains("The engine could not read the script: database is locked (injected)", lines[0], StringComparison.Ordinal);
            Assert.Equal(["2", "3", "4", "5"], lines.Skip(1));
        }
    }

    /// <summary>The real script store, whose next reads can be made to fail as a locked or unreadable database would.</summary>
    private sealed class FailingScriptStore(IScriptStore inner) : IScriptStore
    {
        private int _failures;

        public void FailNextReads(int count) => Volatile.Write(ref _failures, count);

        public long ChangeVersion => inner.ChangeVersion;

        public StoredScript? GetLatest(string account, string name) =>
            Interlocked.Decrement(ref _failures) >= 0 ? throw new IOException("database is locked (injected)") : inner.GetLatest(account, name);

        public StoredScript? Save(string account, string name, string text, ScriptQuota quota, out long bytesNeeded) =>
            inner.Save(account, name, text, quota, out bytesNeeded);

        public StoredScript? Get(string account, string name, int version) => inner.Get(account, name, version);

        public IReadOnlyList<StoredScript> List(string account) => inner.List(account);

        public bool Remove(string account, string name) => inner.Remove(account, name);

        public void SetSchedule(string account, string name, int? everySeconds) => inner.SetSchedule(account, name, everySeconds);

        public IReadOnlyList<ScriptSchedule> Schedules() => inner.Schedules();
    }
}

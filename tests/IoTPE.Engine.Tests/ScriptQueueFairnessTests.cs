using System.Diagnostics;
using System.Globalization;
using IoTPE.Broker;
using IoTPE.Engine.Accounts;
using IoTPE.Scripting;
using IoTPE.Broker.Storage.Sqlite;
using IoTPE.Engine.Storage.Sqlite;
using IoTPE.TestSupport;

namespace IoTPE.Engine.Tests;

/// <summary>
/// One account's backlog does not hold up another's: each account has its own run queue with a
/// bound (a request beyond it is refused to its publisher with 0x97) and its own share of the
/// script workers, which take turns between accounts. A script that requests its own run stops at
/// the hop limit. The engine, the broker, the SQLite stores and the MQTT clients are real.
/// </summary>
[Collection(SerialTimingCollection.Name)]
public sealed class ScriptQueueFairnessTests : IAsyncDisposable
{
    private const string Password = "s3cret-pw";
    private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(400);
    private readonly string _folder = Directory.CreateTempSubdirectory("iotpe-engine-").FullName;
    private SqliteEngineDatabase? _database;
    private SqliteAccountDatabases? _accountDatabases;
    private SqliteBrokerStore? _brokerStore;
    private ProcessEngine? _engine;
    private Broker.Broker? _broker;

    private int Port => _broker!.EndPoints[0].Port;

    private async Task StartAsync(Action<EngineOptions> configure)
    {
        _database = new SqliteEngineDatabase(_folder);
        var accounts = new SqliteAccountStore(_database);
        accounts.AddAccount(new Account("alice", PasswordHasher.Hash(Password), DateTimeOffset.UtcNow));
        accounts.AddAccount(new Account("bob", PasswordHasher.Hash(Password), DateTimeOffset.UtcNow));
        var scripts = new SqliteScriptStore(_database);
        scripts.Save("alice", "spin", "while (true) {}", new EngineOptions().ScriptQuota, out _);
        scripts.Save("alice", "bomb", "publish('/alice/run/bomb', 'again', { qos: 1 }); return 'published';", new EngineOptions().ScriptQuota, out _);
        scripts.Save("bob", "echo", "return Number(message.payload);", new EngineOptions().ScriptQuota, out _);
        _accountDatabases = new SqliteAccountDatabases(_folder, 1024 * 1024);
        var stores = new EngineStores(accounts, scripts, new SqliteKeyValueStore(_database), _accountDatabases, new SqliteRunAttemptStore(_database));
        var options = new EngineOptions
        {
            ScriptFolder = Path.Combine(_folder, "scripts"),
            Limits = ScriptLimits.Default with { RunTimeout = Budget },
            ScriptWorkers = 1,
        };
        configure(options);
        _engine = new ProcessEngine(stores, options, allowAnonymous: false);
        _brokerStore = new SqliteBrokerStore(_folder, new SqliteBrokerStoreOptions { SyncMode = SqliteSyncMode.Normal });
        _broker = new Broker.Broker(new BrokerOptions { Listeners = [new ListenerOptions { Address = "127.0.0.1", Port = 0 }], SysInterval = 0 },
            _brokerStore, _engine.Authenticator, _engine.Authorizer);
        _broker.LoadState();
        _engine.Attach(_broker);
        await _broker.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
        if (_engine is not null)
        {
            await _engine.DisposeAsync();
        }
        if (_brokerStore is not null)
        {
            await _brokerStore.DisposeAsync();
        }
        _accountDatabases?.Dispose();
        _database?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_spinning_account_delays_another_accounts_run_by_at_most_one_run_budget()
    {
        await StartAsync(_ => { });
        using OutputCollector aliceErrors = await SubscribeAsync("alice", "/alice/run/spin/error");
        using OutputCollector bobResults = await SubscribeAsync("bob", "/bob/run/echo/result");

        // Twelve requests that each spin for the whole budget, on one worker.
        Assert.Equal(0, (await PublishAsync("alice", "/alice/run/spin", Enumerable.Repeat("x", 12))).ExitCode);
        Assert.True(await aliceErrors.WaitForLineAsync(l => l.Contains("TimedOut", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), aliceErrors.Error);

        var waited = Stopwatch.StartNew();
        Assert.Equal(0, (await PublishAsync("bob", "/bob/run/echo", ["7"])).ExitCode);
        Assert.True(await bobResults.WaitForLineAsync(l => l == "7", TimeSpan.FromSeconds(20)), bobResults.Error);
        waited.Stop();

        // At most alice's current run plus bob's own (with room for a loaded machine); before,
        // bob waited behind a turn of up to sixteen of alice's runs (over 4 s here).
        Assert.True(waited.Elapsed < 3 * Budget + TimeSpan.FromMilliseconds(800), $"bob's run waited {waited.Elapsed.TotalMilliseconds:F0} ms");
        Assert.True(aliceErrors.Lines.Count(l => l.Contains("TimedOut", StringComparison.Ordinal)) < 12, "alice's backlog ran before bob's request");
    }

    [Fact]
    public async Task A_request_beyond_the_accounts_queue_bound_is_refused_to_its_publisher_and_others_still_run()
    {
        await StartAsync(o => o.MaxQueuedRunsPerAccount = 3);
        using OutputCollector bobResults = await SubscribeAsync("bob", "/bob/run/echo/result");

        ProcessRun alice = await PublishAsync("alice", "/alice/run/spin", Enumerable.Repeat("x", 6), "-V", "mqttv5");
        Assert.Contains("Quota exceeded", alice.StandardError + alice.StandardOutput, StringComparison.OrdinalIgnoreCase);

        Assert.Equal(0, (await PublishAsync("bob", "/bob/run/echo", ["5"])).ExitCode);
        Assert.True(await bobResults.WaitForLineAsync(l => l == "5", TimeSpan.FromSeconds(20)), bobResults.Error);
    }

    [Fact]
    public async Task A_script_that_requests_its_own_run_stops_at_the_hop_limit_with_an_error()
    {
        await StartAsync(o => o.MaxRunHops = 3);
        using OutputCollector outcomes = await SubscribeAsync("alice", "/alice/run/bomb/+", "-v");

        Assert.Equal(0, (await PublishAsync("alice", "/alice/run/bomb", ["go"])).ExitCode);
        Assert.True(await outcomes.WaitForLineAsync(l => l.StartsWith("/alice/run/bomb/error", StringComparison.Ordinal), TimeSpan.FromSeconds(20)), string.Join('\n', outcomes.Lines));

        // Hops 0, 1 and 2 published their request; hop 3 could not (limit 3).
        string[] lines = [.. outcomes.Lines.Where(l => l.StartsWith("/alice/run/bomb/", StringComparison.Ordinal))];
        Assert.Equal(4, lines.Length);
        Assert.All(lines[..3], l => Assert.StartsWith("/alice/run/bomb/result", l, StringComparison.Ordinal));
        Assert.Contains("engine.maxRunHops", lines[3], StringComparison.Ordinal);
    }

    // Returns once the SUBACK arrived, so no outcome can come before the subscription.
    private Task<OutputCollector> SubscribeAsync(string account, string filter, params string[] extra) =>
        MosquittoClients.StartSubscriberAsync(Port, ["-u", account, "-P", Password, "-q", "1", "-t", filter, .. extra]);

    private Task<ProcessRun> PublishAsync(string account, string topic, IEnumerable<string> payloads, params string[] extra) =>
        ProcessRun.RunAsync("mosquitto_pub",
            ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-u", account, "-P", Password, "-q", "1", "-t", topic, "-l", .. extra],
            TimeSpan.FromSeconds(20), standardInput: string.Join('\n', payloads) + "\n");
}

using System.Text.Json;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Tests.InMemory;
using IoTPE.Mqtt;
using IoTPE.Scripting;
using IoTPE.TestSupport;

namespace IoTPE.Engine.Tests;

/// <summary>
/// The engine driven through its port alone (<see cref="Broker.IBrokerPort"/>): an in-memory broker that
/// records what the engine publishes and acknowledges, in-memory stores, no sockets and no SQLite files.
/// The script runtime is the real one. What users rely on: an account's outcomes come in the order of its
/// requests, and a request is acknowledged (leaves the durable queue) only after its outcome is published.
/// </summary>
public sealed class ScriptDispatcherPortTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly InMemoryEngineStores _stores = new();
    private readonly InMemoryBrokerPort _broker = new();
    private ProcessEngine? _engine;

    public ScriptDispatcherPortTests()
    {
        _stores.Accounts.AddAccount(new Account("acme", "unused", DateTimeOffset.UnixEpoch));
        _stores.Accounts.AddAccount(new Account("bob", "unused", DateTimeOffset.UnixEpoch));
        var quota = new EngineOptions().ScriptQuota;
        // Runs of different lengths, so that a run finishing early would show up out of order.
        _stores.Scripts.Save("acme", "work", "let n = Number(message.payload); let s = 0; for (let i = 0; i < (n % 4) * 20000; i++) { s += i; } return n;", quota, out _);
        _stores.Scripts.Save("bob", "work", "return 'bob-' + message.payload;", quota, out _);
        _stores.Scripts.Save("acme", "echo", "return Number(message.payload);", quota, out _);
        _stores.Scripts.Save("acme", "boom", "function f() { throw new Error('boom ' + message.payload); }\nf();", quota, out _);
        _stores.Scripts.Save("acme", "spin", "publish('/acme/started', message.json.n.toString()); while (true) {}", quota, out _);
        _stores.Scripts.Save("acme", "double", "return message.json.n * 2;", quota, out _);
    }

    private void Start(TimeProvider? time = null, int maxRunsInFlightPerAccount = 8)
    {
        var options = new EngineOptions
        {
            ScriptFolder = Path.Combine(Path.GetTempPath(), "iotpe-no-scripts-" + Guid.NewGuid().ToString("N")),
            Limits = ScriptLimits.Default with { RunTimeout = TimeSpan.FromSeconds(30) },
            ScriptWorkers = 2,
            MaxRunsInFlightPerAccount = maxRunsInFlightPerAccount,
        };
        _engine = new ProcessEngine(_stores.ToEngineStores(), options, allowAnonymous: false, timeProvider: time);
        _engine.Attach(_broker, _broker);
        Assert.Equal(Scripts.ScriptDispatcher.TopicFilters, _broker.Subscriptions);
    }

    public async ValueTask DisposeAsync()
    {
        if (_engine is not null)
        {
            await _engine.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(1)]
    public async Task Outcomes_of_an_account_come_in_request_order_each_before_its_acknowledgement(int maxRunsInFlightPerAccount)
    {
        Start(maxRunsInFlightPerAccount: maxRunsInFlightPerAccount);
        const int count = 30;
        for (int i = 1; i <= count; i++)
        {
            _broker.Deliver("/acme/run/work", i.ToString(System.Globalization.CultureInfo.InvariantCulture), "acme");
            _broker.Deliver("/bob/run/work", i.ToString(System.Globalization.CultureInfo.InvariantCulture), "bob");
        }

        IReadOnlyList<PortEvent> events = await _broker.WaitForAsync(e => e.Count(x => x.Kind == PortEventKind.Acknowledged) == 2 * count, Timeout);

        string[] expected = [.. Enumerable.Range(1, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(expected, Published(events, "/acme/run/work/result"));
        Assert.Equal(expected.Select(n => "\"bob-" + n + "\""), Published(events, "/bob/run/work/result"));
        foreach (string account in new[] { "acme", "bob" })
        {
            // The n-th acknowledgement of the account comes after its n-th outcome, and acknowledgements keep request order.
            List<int> outcomes = [.. events.Select((e, i) => (e, i)).Where(x => x.e.Kind == PortEventKind.Published && x.e.Topic == $"/{account}/run/work/result").Select(x => x.i)];
            List<(PortEvent Event, int Index)> acks = [.. events.Select((e, i) => (e, i)).Where(x => x.e.Kind == PortEventKind.Acknowledged && x.e.Topic == $"/{account}/run/work")];
            Assert.Equal(count, acks.Count);
            for (int n = 0; n < count; n++)
            {
                Assert.True(outcomes[n] < acks[n].Index, $"{account} request {n + 1} was acknowledged before its outcome was published");
                Assert.Equal(expected[n], acks[n].Event.Payload);
            }
        }
    }

    [Fact]
    public async Task A_failed_run_is_reported_with_its_status_before_the_request_is_acknowledged()
    {
        Start();
        _broker.Deliver("/acme/run/boom", "1", "acme");
        _broker.Deliver("/acme/run/missing", "2", "acme");
        _broker.Deliver("/acme/run/echo", "3", "acme");

        IReadOnlyList<PortEvent> events = await _broker.WaitForAsync(e => e.Count(x => x.Kind == PortEventKind.Acknowledged) == 3, Timeout);

        PortEvent error = Assert.Single(events, e => e.Topic == "/acme/run/boom/error");
        using (JsonDocument json = JsonDocument.Parse(error.Payload))
        {
            Assert.Equal("Threw", json.RootElement.GetProperty("status").GetString());
            Assert.Contains("boom 1", json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Equal(1, json.RootElement.GetProperty("line").GetInt32());
            Assert.Equal("boom", json.RootElement.GetProperty("script").GetString());
            Assert.Equal("1", json.RootElement.GetProperty("version").GetString());
        }
        Assert.Contains(error.Message.Properties!.UserProperties, p => p.Name == "status" && p.Value == "error");
        PortEvent missing = Assert.Single(events, e => e.Topic == "/acme/run/missing/error");
        using (JsonDocument json = JsonDocument.Parse(missing.Payload))
        {
            Assert.Equal("NotFound", json.RootElement.GetProperty("status").GetString());
        }
        Assert.Equal("3", Assert.Single(Published(events, "/acme/run/echo/result")));
        Assert.True(IndexOf(events, PortEventKind.Published, "/acme/run/boom/error") < IndexOf(events, PortEventKind.Acknowledged, "/acme/run/boom"));
        Assert.True(IndexOf(events, PortEventKind.Published, "/acme/run/echo/result") < IndexOf(events, PortEventKind.Acknowledged, "/acme/run/echo"));
    }

    [Fact]
    public async Task A_cancelled_call_is_rejected_as_cancelled_and_the_call_behind_it_then_resolves()
    {
        Start();
        _broker.Deliver("/acme/cmd/spin", """{"messageId":"call-1","payload":{"n":1}}""", "acme");
        await _broker.WaitForAsync(e => e.Any(x => x.Topic == "/acme/started"), Timeout); // call-1 is running
        _broker.Deliver("/acme/cmd/double", """{"messageId":"call-2","payload":{"n":21}}""", "acme");
        _broker.Deliver("/acme/cmd/spin/cancel", """{"messageId":"call-1"}""", "acme");

        IReadOnlyList<PortEvent> events = await _broker.WaitForAsync(e => e.Count(x => x.Kind == PortEventKind.Acknowledged) == 3, Timeout);

        PortEvent reject = Assert.Single(events, e => e.Topic == "/acme/cmd/spin/reject");
        using (JsonDocument json = JsonDocument.Parse(reject.Payload))
        {
            Assert.Equal("call-1", json.RootElement.GetProperty("messageId").GetString());
            Assert.Equal("cancelled", json.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        Assert.Equal(QualityOfService.ExactlyOnce, reject.Message.QoS);
        Assert.Equal("call-1"u8.ToArray(), reject.Message.Properties!.CorrelationData);
        PortEvent resolve = Assert.Single(events, e => e.Topic == "/acme/cmd/double/resolve");
        Assert.Equal("""{"messageId":"call-2","result":42}""", resolve.Payload);
        Assert.True(IndexOf(events, PortEventKind.Published, "/acme/cmd/spin/reject") < IndexOf(events, PortEventKind.Acknowledged, "/acme/cmd/spin"));
        Assert.True(IndexOf(events, PortEventKind.Acknowledged, "/acme/cmd/spin") < IndexOf(events, PortEventKind.Published, "/acme/cmd/double/resolve"));
        Assert.True(IndexOf(events, PortEventKind.Published, "/acme/cmd/double/resolve") < IndexOf(events, PortEventKind.Acknowledged, "/acme/cmd/double"));
        Assert.Contains(events, e => e.Kind == PortEventKind.Acknowledged && e.Topic == "/acme/cmd/spin/cancel");
    }

    [Fact]
    public async Task A_request_whose_script_cannot_be_read_is_retried_on_the_engines_clock()
    {
        var clock = new ManualClock();
        Start(clock);
        _stores.Scripts.FailNextReads(1);
        _broker.Deliver("/acme/run/echo", "1", "acme");
        _broker.Deliver("/acme/run/echo", "2", "acme");

        // The first read failed; the retry waits one second of the engine's clock, and request 2 waits behind it.
        await Assert.ThrowsAsync<TimeoutException>(() => _broker.WaitForAsync(e => e.Count > 0, TimeSpan.FromSeconds(2)));
        clock.Advance(TimeSpan.FromSeconds(1));

        IReadOnlyList<PortEvent> events = await _broker.WaitForAsync(e => e.Count(x => x.Kind == PortEventKind.Acknowledged) == 2, Timeout);
        Assert.Equal(["1", "2"], Published(events, "/acme/run/echo/result"));
    }

    private static List<string> Published(IReadOnlyList<PortEvent> events, string topic) =>
        [.. events.Where(e => e.Kind == PortEventKind.Published && e.Topic == topic).Select(e => e.Payload)];

    private static int IndexOf(IReadOnlyList<PortEvent> events, PortEventKind kind, string topic)
    {
        for (int i = 0; i < events.Count; i++)
        {
            if (events[i].Kind == kind && events[i].Topic == topic)
            {
                return i;
            }
        }
        return -1;
    }
}

using System.Text.Json.Nodes;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>The process engine in the published binary: scripts bound to topics, their API, management and schedules.</summary>
public sealed class ScriptEngineTests : IAsyncLifetime
{
    private const string Account = "acme";
    private const string Password = "s3cret-pw";
    private IotpeServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await IotpeServer.StartAsync(allowAnonymous: false);
        await _server.AddAccountAsync(Account, Password);
        await _server.AddAccountAsync("other", Password);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 2 accounts"), _server.Output);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private string[] Login(string account = Account) => ["-u", account, "-P", Password];

    private async Task LoadAsync(string name, string script, string account = Account)
    {
        string file = Path.Combine(_server.DataFolder, name + ".src.js");
        await File.WriteAllTextAsync(file, script);
        ProcessRun load = await _server.CommandAsync(["script", "load", account, name, file]);
        Assert.True(load.ExitCode == 0, load.StandardError);
    }

    /// <summary>
    /// Requests a run (empty payload) until its one outcome satisfies <paramref name="noticed"/>: the
    /// engine notices a script changed by the command line within a second, and that is the event.
    /// </summary>
    private async Task<IReadOnlyList<string>> RequestUntilAsync(string topic, string filter, Func<string, bool> noticed)
    {
        IReadOnlyList<string> outcome = [];
        var noticing = System.Diagnostics.Stopwatch.StartNew();
        while (noticing.Elapsed < TimeSpan.FromSeconds(10))
        {
            outcome = await RequestAsync(topic, "", filter, 1);
            if (outcome.Count == 1 && noticed(outcome[0]))
            {
                break;
            }
        }
        return outcome;
    }

    /// <summary>Subscribes to <paramref name="filter"/>, publishes one message, returns the lines received.</summary>
    private async Task<IReadOnlyList<string>> RequestAsync(string topic, string payload, string filter, int expectedLines, string account = Account, int qos = 1)
    {
        using OutputCollector sub = await MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login(account), "-t", filter, "-v", "-q", "1"]);
        ProcessRun pub = await MosquittoClients.PublishAsync(_server.Port, [.. Login(account), "-q", qos.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", topic, "-m", payload]);
        Assert.True(pub.ExitCode == 0, pub.StandardError);
        return await sub.WaitForLinesAsync(expectedLines, TimeSpan.FromSeconds(10));
    }

    private const string Calc = """
        // The seed's calc example: sum two numbers, keep a running total and a table of sums.
        var input = message.json;
        var total = (kv.get('total') || 0) + input.x + input.y;
        kv.set('total', total);
        db.exec('CREATE TABLE IF NOT EXISTS sums (x, y)');
        db.exec('INSERT INTO sums (x, y) VALUES (?, ?)', [input.x, input.y]);
        publish('/acme/dashboard/total', { total: total }, { qos: 1, retain: true });
        log('sum', input.x + input.y, 'total', total);
        return { sum: input.x + input.y, total: total, rows: db.query('SELECT COUNT(*) AS n FROM sums')[0].n };
        """;

    [Fact]
    public async Task The_calc_flow_runs_the_stored_script_with_kv_db_publish_and_result()
    {
        await LoadAsync("calc", Calc);
        IReadOnlyList<string> first = await RequestAsync("/acme/run/calc", """{"x":1,"y":2}""", "/acme/run/calc/result", 1);
        Assert.Equal(["""/acme/run/calc/result {"sum":3,"total":3,"rows":1}"""], first);
        IReadOnlyList<string> second = await RequestAsync("/acme/run/calc", """{"x":10,"y":20}""", "/acme/run/calc/result", 1);
        Assert.Equal(["""/acme/run/calc/result {"sum":30,"total":33,"rows":2}"""], second);
        ProcessRun retained = await MosquittoClients.RunOnceAsync(_server.Port, [.. Login(), "-t", "/acme/dashboard/total", "-C", "1", "-W", "5"]);
        Assert.Equal("""{"total":33}""", retained.StandardOutput.Trim());
        Assert.True(await _server.WaitForOutputAsync("script acme/calc: sum 30 total 33"), _server.Output);
    }

    [Fact]
    public async Task Runfile_runs_a_script_file_of_the_account()
    {
        string folder = Path.Combine(_server.DataFolder, "scripts", Account);
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "hello.js"), "return 'hello ' + message.payload;");
        IReadOnlyList<string> lines = await RequestAsync("/acme/runfile/hello", "world", "/acme/runfile/hello/result", 1);
        Assert.Equal(["/acme/runfile/hello/result \"hello world\""], lines);
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("a..b")]
    public async Task Runfile_names_that_could_leave_the_folder_are_refused(string name)
    {
        await File.WriteAllTextAsync(Path.Combine(_server.DataFolder, "secret.js"), "return 'leaked';");
        IReadOnlyList<string> lines = await RequestAsync($"/acme/runfile/{name}", "{}", $"/acme/runfile/{name}/+", 1);
        string line = Assert.Single(lines);
        Assert.StartsWith($"/acme/runfile/{name}/error ", line, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"NotFound\"", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_message_carries_topic_payload_json_qos_publisher_and_mqtt5_properties()
    {
        await LoadAsync("echo", "return message;");
        using OutputCollector sub = MqttSessionPlan.Start(new JsonObject
        {
            ["url"] = $"mqtt://127.0.0.1:{_server.Port}", ["clientId"] = "echo-sub", ["stayMs"] = 5000, ["exitAfterMessages"] = 1,
            ["connectProperties"] = new JsonObject(), ["subscribe"] = new JsonArray(new JsonObject { ["topic"] = "/acme/replies/#", ["qos"] = 1 }),
        }.WithLogin(Account, Password));
        await MqttSessionPlan.WaitForAsync(sub, "suback");
        await MqttSessionPlan.RunAsync(new JsonObject
        {
            ["url"] = $"mqtt://127.0.0.1:{_server.Port}", ["clientId"] = "echo-pub", ["stayMs"] = 500,
            ["publish"] = new JsonArray(new JsonObject
            {
                ["topic"] = "/acme/run/echo", ["payload"] = """{"temp":21.5}""", ["qos"] = 1,
                ["properties"] = new JsonObject
                {
                    ["responseTopic"] = "/acme/replies/1", ["correlationData"] = "req-42",
                    ["userProperties"] = new JsonObject { ["unit"] = "C" },
                },
            }),
        }.WithLogin(Account, Password));
        JsonObject reply = (await MqttSessionPlan.WaitForAsync(sub, "message")).OfKind("message").Single();
        Assert.Equal("/acme/replies/1", (string?)reply["topic"]);
        Assert.Equal("req-42", (string?)reply["properties"]!["correlationData"]);
        JsonObject message = JsonNode.Parse((string)reply["payload"]!)!.AsObject();
        Assert.Equal("/acme/run/echo", (string?)message["topic"]);
        Assert.Equal("""{"temp":21.5}""", (string?)message["payload"]);
        Assert.Equal(21.5, (double?)message["json"]!["temp"]);
        Assert.Equal(1, (int?)message["qos"]);
        Assert.Equal(Account, (string?)message["publisher"]);
        Assert.Equal("C", (string?)message["userProperties"]!["unit"]);
        Assert.Equal("req-42", (string?)message["correlationData"]);
    }

    [Fact]
    public async Task A_thrown_error_goes_to_the_error_topic_with_message_and_line()
    {
        await LoadAsync("broken", "var a = 1;\nvar b = 2;\nthrow new TypeError('bad input ' + message.payload);");
        IReadOnlyList<string> lines = await RequestAsync("/acme/run/broken", "x", "/acme/run/broken/+", 1);
        JsonObject error = JsonNode.Parse(lines.Single()["/acme/run/broken/error ".Length..])!.AsObject();
        Assert.Equal("TypeError: bad input x", (string?)error["error"]);
        Assert.Equal("Threw", (string?)error["status"]);
        Assert.Equal(3, (int?)error["line"]);
        Assert.Equal("1", (string?)error["version"]);
    }

    [Fact]
    public async Task Loading_refuses_a_syntax_error_with_line_and_column_and_keeps_versions()
    {
        string bad = Path.Combine(_server.DataFolder, "bad.js");
        await File.WriteAllTextAsync(bad, "var ok = 1;\nvar broken = ;\n");
        ProcessRun refused = await _server.CommandAsync(["script", "load", Account, "v", bad]);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains(":2:14: SyntaxError", refused.StandardError, StringComparison.Ordinal);

        await LoadAsync("v", "return 'one';");
        Assert.Equal(["/acme/run/v/result \"one\""], await RequestAsync("/acme/run/v", "", "/acme/run/v/result", 1));
        await LoadAsync("v", "return 'two';");
        // A running engine notices the new version within a second and uses it from the next run on.
        Assert.Equal(["/acme/run/v/result \"two\""], await RequestUntilAsync("/acme/run/v", "/acme/run/v/result", l => l != "/acme/run/v/result \"one\""));
        ProcessRun list = await _server.CommandAsync(["script", "list", Account]);
        Assert.Contains("v\tversion 2", list.StandardOutput, StringComparison.Ordinal);
        ProcessRun old = await _server.CommandAsync(["script", "show", Account, "v", "--version", "1"]);
        Assert.Equal("return 'one';", old.StandardOutput);
        Assert.Equal(0, (await _server.CommandAsync(["script", "remove", Account, "v"])).ExitCode);
        // The running engine notices the removal within a second; until then a run still gets "two".
        IReadOnlyList<string> gone = await RequestUntilAsync("/acme/run/v", "/acme/run/v/+", l => !l.EndsWith("\"two\"", StringComparison.Ordinal));
        Assert.Contains("has no stored script 'v'", gone.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scripts_are_managed_over_mqtt_by_their_owner_only()
    {
        IReadOnlyList<string> loaded = await RequestAsync("/acme/script/load/remote", "return 40 + 2;", "/acme/script/result", 1);
        Assert.Contains("\"ok\":true", loaded.Single(), StringComparison.Ordinal);
        Assert.Contains("\"version\":1", loaded.Single(), StringComparison.Ordinal);
        Assert.Equal(["/acme/run/remote/result 42"], await RequestAsync("/acme/run/remote", "", "/acme/run/remote/result", 1));

        IReadOnlyList<string> syntax = await RequestAsync("/acme/script/load/remote", "return (;", "/acme/script/result", 1);
        Assert.Contains("\"ok\":false", syntax.Single(), StringComparison.Ordinal);
        Assert.Contains("\"line\":1", syntax.Single(), StringComparison.Ordinal);
        Assert.Contains("SyntaxError", syntax.Single(), StringComparison.Ordinal);

        IReadOnlyList<string> list = await RequestAsync("/acme/script/list", "", "/acme/script/result", 1);
        Assert.Contains("\"name\":\"remote\",\"version\":1", list.Single(), StringComparison.Ordinal);

        // Another account, even with a publish grant on the management topic, cannot load scripts.
        await RequestAsync("/acme/grant_pub_topic", """{"name":"script/load/+","accountId":"other"}""", "/acme/grant_result", 1);
        using OutputCollector results = await MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login(), "-t", "/acme/script/result", "-v"]);
        await MosquittoClients.PublishAsync(_server.Port, [.. Login("other"), "-q", "1", "-t", "/acme/script/load/remote", "-m", "return 'hijacked';"]);
        Assert.True(await results.WaitForLineAsync(l => l.Contains("only the account acme", StringComparison.Ordinal)), string.Join('\n', results.Lines));
        Assert.Equal(["/acme/run/remote/result 42"], await RequestAsync("/acme/run/remote", "", "/acme/run/remote/result", 1));
    }

    [Fact]
    public async Task Only_the_account_or_a_grantee_can_trigger_a_run()
    {
        await LoadAsync("who", "return message.publisher;");
        using (OutputCollector owner = await MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login(), "-t", "/acme/run/who/#", "-v"]))
        {
            await MosquittoClients.PublishAsync(_server.Port, [.. Login("other"), "-q", "1", "-t", "/acme/run/who", "-m", "x"]);
            // The owner's own run comes after: an account's runs go in order, so had the other's
            // request been taken, its result would have come first.
            await MosquittoClients.PublishAsync(_server.Port, [.. Login(), "-q", "1", "-t", "/acme/run/who", "-m", "own"]);
            Assert.True(await owner.WaitForLineAsync(l => l == "/acme/run/who/result \"acme\""), string.Join('\n', owner.Lines));
            // "/acme/run/who/#" also matches the request topic itself (§4.7.1.2): only the owner's is there.
            Assert.Equal(["/acme/run/who own", "/acme/run/who/result \"acme\""], owner.Lines);
        }
        await RequestAsync("/acme/grant_pub_topic", """{"name":"run/who","accountId":"other"}""", "/acme/grant_result", 1);
        using OutputCollector results = await MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login(), "-t", "/acme/run/who/result", "-v"]);
        await MosquittoClients.PublishAsync(_server.Port, [.. Login("other"), "-q", "1", "-t", "/acme/run/who", "-m", "x"]);
        Assert.True(await results.WaitForLineAsync(l => l == "/acme/run/who/result \"other\""), string.Join('\n', results.Lines));
    }

    [Fact]
    public async Task A_scheduled_script_runs_every_n_seconds_without_overlap()
    {
        await LoadAsync("tick", """
            var n = (kv.get('n') || 0) + 1;
            kv.set('n', n);
            var start = Date.now();
            while (Date.now() - start < 700) {}   // longer than half the period
            return { n: n, end: Date.now() };
            """);
        using OutputCollector results = await MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login(), "-t", "/acme/run/tick/result", "-v"]);
        ProcessRun schedule = await _server.CommandAsync(["script", "schedule", Account, "tick", "--every", "1"]);
        Assert.True(schedule.ExitCode == 0, schedule.StandardError);
        Assert.True((await results.WaitForLinesAsync(3, TimeSpan.FromSeconds(15))).Count >= 3, string.Join('\n', results.Lines) + _server.Output);
        Assert.Equal(0, (await _server.CommandAsync(["script", "schedule", Account, "tick", "--off"])).ExitCode);
        (int N, long End)[] runs = [.. results.Lines.Select(l =>
        {
            using var result = System.Text.Json.JsonDocument.Parse(l["/acme/run/tick/result ".Length..]);
            return (result.RootElement.GetProperty("n").GetInt32(), result.RootElement.GetProperty("end").GetInt64());
        })];
        int[] counts = [.. runs.Select(r => r.N)];
        Assert.Equal(counts.OrderBy(c => c), counts); // one after the other, never two at once
        Assert.Equal(counts.Distinct().Count(), counts.Length);
        // Each run busies 700 ms, so runs that never overlap end at least that far apart.
        for (int i = 1; i < runs.Length; i++)
        {
            Assert.True(runs[i].End - runs[i - 1].End >= 700, $"runs {runs[i - 1].N} and {runs[i].N} ended {runs[i].End - runs[i - 1].End} ms apart");
        }
    }

    [Fact]
    public async Task A_run_interrupted_by_a_crash_runs_again_after_the_restart()
    {
        await LoadAsync("slow", """
            log('slow-started');
            var start = Date.now();
            while (Date.now() - start < 800) {}
            kv.set('done', (kv.get('done') || 0) + 1);
            return 'finished';
            """);
        // The result goes to a persistent session subscribed before the crash, so it is kept for the
        // watcher however soon after the restart the run completes (the re-run starts before a new
        // subscriber could connect on a busy machine).
        string[] watcher = [.. Login(), "-c", "-i", "crash-watcher", "-q", "1", "-t", "/acme/run/slow/result"];
        Assert.Equal(0, (await MosquittoClients.RunOnceAsync(_server.Port, [.. watcher, "-E"])).ExitCode);
        ProcessRun pub = await MosquittoClients.PublishAsync(_server.Port, [.. Login(), "-q", "1", "-t", "/acme/run/slow", "-m", "go"]);
        Assert.Equal(0, pub.ExitCode); // PUBACK: the run is durably queued
        Assert.True(await _server.WaitForOutputAsync("slow-started"), _server.Output);
        _server.Kill(); // in the middle of the run
        await _server.RestartAsync();
        // Exactly one result: the re-run published once (however long a loaded machine takes to
        // restart and run it), and the interrupted run nothing, so nothing else is queued after it.
        ProcessRun result = await MosquittoClients.RunOnceAsync(_server.Port, [.. watcher, "-C", "1", "-W", "25", "-v"]);
        Assert.Equal("/acme/run/slow/result \"finished\"", result.StandardOutput.Trim());
        ProcessRun rest = await MosquittoClients.RunOnceAsync(_server.Port, [.. watcher, "-C", "1", "-W", "2", "-v"]);
        Assert.Equal("", rest.StandardOutput.Trim());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Run_requests_acknowledged_before_a_crash_have_run_or_run_after_the_restart(bool persistentWatcher)
    {
        // One request at a time (window 1), as a device sends them: each is handed to the engine
        // before its commit. With only clean sessions watching, a run done in time is never written
        // and its PUBACK follows its output; with a persistent session watching, the output is stored
        // in the request's commit. Either way nothing acknowledged is lost to SIGKILL.
        const int Requests = 600;
        await LoadAsync("relay", "publish('/acme/relayed', message.payload, { qos: 1 });");
        string url = $"mqtt://{Account}:{Password}@127.0.0.1:{_server.Port}";
        using OutputCollector watcher = persistentWatcher
            ? MqttJs.StartScript("sequence-subscriber.js", url, "/acme/relayed", "1", "relay-watcher", "4")
            : await MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login(), "-t", "/acme/relayed", "-q", "1", "-F", "got %p"]);
        if (persistentWatcher)
        {
            Assert.True(await watcher.WaitForLineAsync(l => l == "subscribed"), watcher.Error);
        }
        using OutputCollector requester = MqttJs.StartScript("sequence-publisher.js", url, "/acme/run/relay", "1",
            Requests.ToString(System.Globalization.CultureInfo.InvariantCulture), $"relay-requester-{persistentWatcher}", "4", "1", "200");
        Assert.True(await requester.WaitForLineAsync(l => l == "acked 300", TimeSpan.FromSeconds(60)), requester.Error);
        long walBytes = new FileInfo(Path.Combine(_server.DataFolder, "broker.db-wal")).Length;
        _server.Kill();
        HashSet<int> ackedBeforeKill = Sequence(requester.Lines, "acked ");
        Assert.True(ackedBeforeKill.Count < Requests, "the stream finished before the kill; nothing was tested");

        if (!persistentWatcher)
        {
            // 300 requests written one commit each would be ~2.4 MB of WAL frames (two pages per commit).
            Assert.True(walBytes < 1024 * 1024, $"the WAL grew to {walBytes} bytes: run requests done before their commit were written");
            // Each output left before its request's PUBACK: it reached the watcher even though iotpe died.
            await watcher.WaitForLineAsync(_ => Sequence(watcher.Lines, "got ").IsSupersetOf(ackedBeforeKill), TimeSpan.FromSeconds(5));
            Assert.DoesNotContain(ackedBeforeKill, n => !Sequence(watcher.Lines, "got ").Contains(n));
        }
        await _server.RestartAsync();
        Assert.True(await requester.WaitForLineAsync(l => l == "done", TimeSpan.FromSeconds(120)), "requester did not finish: " + requester.Error);
        if (!persistentWatcher)
        {
            return; // a clean session misses what runs before it is back
        }
        await watcher.WaitForLineAsync(_ => Sequence(watcher.Lines, "got ").Count >= Requests, TimeSpan.FromSeconds(60));
        HashSet<int> relayed = Sequence(watcher.Lines, "got ");
        Assert.DoesNotContain(ackedBeforeKill, n => !relayed.Contains(n));
        Assert.Equal(Requests, relayed.Count); // what was not acknowledged was resent, and ran
    }

    private static HashSet<int> Sequence(IEnumerable<string> lines, string prefix) =>
        [.. lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => int.Parse(l[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture))];
}

/// <summary>Adds credentials to an MQTT.js session plan.</summary>
internal static class SessionPlanLogin
{
    public static JsonObject WithLogin(this JsonObject plan, string user, string password)
    {
        plan["username"] = user;
        plan["password"] = password;
        return plan;
    }
}

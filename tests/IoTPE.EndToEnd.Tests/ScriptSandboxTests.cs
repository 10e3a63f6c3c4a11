using System.Diagnostics;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// Untrusted scripts cannot hurt the broker, another account or the device: each escape attempt
/// and each limit ends the run with a clear error, and the broker keeps answering other clients
/// during and after.
/// </summary>
public sealed class ScriptSandboxTests : IAsyncLifetime
{
    private const string Password = "s3cret-pw";
    private IotpeServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await IotpeServer.StartAsync(allowAnonymous: false);
        await _server.AddAccountAsync("acme", Password);
        await _server.AddAccountAsync("victim", Password);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 2 accounts"), _server.Output);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private string[] Login(string account = "acme") => ["-u", account, "-P", Password];

    public static TheoryData<string, string, string> Attacks => new()
    {
        { "spin", "while (true) {}", "TimedOut" },
        { "spincatch", "while (true) { try { while (true) {} } catch (e) {} }", "TimedOut" },
        { "hog", "var a = []; while (true) { a.push('x'.repeat(1000000) + a.length); }", "OutOfMemory" },
        { "huge", "var s = 'x'; while (true) { s = s + s; }", "Threw" }, // RangeError: Invalid string length, as in Node.js
        { "backtrack", "return /(a+)+$/.test('a'.repeat(40) + 'b');", "TimedOut" },
        { "recurse", "function f(n) { return 1 + f(n + 1); } return f(0);", "Threw" },
        { "storm", "for (var i = 0; i < 1000; i++) { publish('/acme/storm', 'x' + i); }", "Threw" },
        { "thrower", "throw new Error('on purpose');", "Threw" },
        { "othertopic", "publish('/victim/inbox', 'spam');", "Threw" },
        { "otherdb", "return db.query(\"ATTACH DATABASE '../victim/account.db' AS v\");", "Threw" },
        { "vacuum", "return db.query(\"VACUUM INTO '/tmp/iotpe-stolen.db'\");", "Threw" },
        { "pragma", "return db.exec('PRAGMA max_page_count = 2147483647');", "Threw" },
        { "noescape", "return typeof require + typeof importNamespace + typeof process + typeof System;", "Completed" },
    };

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task A_hostile_script_ends_its_own_run_and_the_broker_keeps_serving(string name, string script, string status)
    {
        string file = Path.Combine(_server.DataFolder, name + ".js");
        await File.WriteAllTextAsync(file, script);
        Assert.Equal(0, (await _server.CommandAsync(["script", "load", "acme", name, file])).ExitCode);

        using OutputCollector outcome = await MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login(), "-t", $"/acme/run/{name}/+", "-v"]);
        using OutputCollector victim = await MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login("victim"), "-t", "/victim/#", "-v"]);
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, [.. Login(), "-q", "1", "-t", $"/acme/run/{name}", "-m", "{}"])).ExitCode);

        // While the script runs, another account is served promptly.
        var watch = Stopwatch.StartNew();
        ProcessRun roundTrip = await MosquittoClients.PublishAsync(_server.Port, [.. Login("victim"), "-q", "1", "-t", "/victim/ping", "-m", "pong"]);
        Assert.Equal(0, roundTrip.ExitCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"the broker took {watch.Elapsed} to answer during the run");

        Assert.True(await outcome.WaitForLineAsync(l => !l.StartsWith($"/acme/run/{name} ", StringComparison.Ordinal), TimeSpan.FromSeconds(15)),
            "no outcome: " + string.Join('\n', outcome.Lines));
        string line = outcome.Lines.First(l => l.StartsWith($"/acme/run/{name}/", StringComparison.Ordinal));
        if (status == "Completed")
        {
            Assert.Equal($"/acme/run/{name}/result \"undefinedundefinedundefinedundefined\"", line);
        }
        else
        {
            Assert.StartsWith($"/acme/run/{name}/error ", line, StringComparison.Ordinal);
            Assert.Contains($"\"status\":\"{status}\"", line, StringComparison.Ordinal);
        }
        Assert.True(await victim.WaitForLineAsync(l => l == "/victim/ping pong"), "the other account's message never arrived");
        Assert.Equal(["/victim/ping pong"], victim.Lines);
        Assert.False(File.Exists("/tmp/iotpe-stolen.db"));

        // After the run, the same account's next run works.
        string okFile = Path.Combine(_server.DataFolder, "ok.js");
        await File.WriteAllTextAsync(okFile, "return 'alive';");
        Assert.Equal(0, (await _server.CommandAsync(["script", "load", "acme", "ok", okFile])).ExitCode);
        using OutputCollector okResult = await MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login(), "-t", "/acme/run/ok/result", "-v"]);
        await MosquittoClients.PublishAsync(_server.Port, [.. Login(), "-q", "1", "-t", "/acme/run/ok", "-m", "{}"]);
        Assert.True(await okResult.WaitForLineAsync(l => l == "/acme/run/ok/result \"alive\"", TimeSpan.FromSeconds(10)), string.Join('\n', okResult.Lines));
    }

    [Fact]
    public async Task A_runfile_with_a_syntax_error_reports_line_and_column()
    {
        string folder = Path.Combine(_server.DataFolder, "scripts", "acme");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "typo.js"), "var a = 1;\nvar b = ;\n");
        using OutputCollector outcome = await MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login(), "-t", "/acme/runfile/typo/error", "-v"]);
        await MosquittoClients.PublishAsync(_server.Port, [.. Login(), "-q", "1", "-t", "/acme/runfile/typo", "-m", "{}"]);
        Assert.True(await outcome.WaitForLineAsync(l => l.Contains("\"status\":\"CompileFailed\"", StringComparison.Ordinal)), string.Join('\n', outcome.Lines));
        string line = outcome.Lines[0];
        Assert.Contains("\"line\":2,\"column\":9", line, StringComparison.Ordinal);
    }
}

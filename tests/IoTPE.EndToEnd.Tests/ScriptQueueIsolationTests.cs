using System.Globalization;
using System.Text.RegularExpressions;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// One account cannot hurt another through the engine's queue (issue 10, cases 2 and 3, and the
/// quarantine of case 1), through the published binary: a script flooding its own run topic does
/// not cost another account its acknowledged requests, a spinning account does not starve another,
/// and a request that was running when the process died twice is quarantined.
/// </summary>
public sealed class ScriptQueueIsolationTests
{
    private const string Password = "s3cret-pw";

    [Fact]
    public async Task A_script_flooding_its_own_run_topic_stops_and_another_accounts_acknowledged_requests_all_run()
    {
        await using IotpeServer server = await StartAsync("""{ "engine": { "maxQueuedRunsPerAccount": 200 } }""", "alice", "bob");
        await LoadAsync(server, "alice", "bomb", "for (var i = 0; i < 100; i++) { publish('/alice/run/bomb', 'again', { qos: 1 }); } return 'ok';");
        await LoadAsync(server, "bob", "echo", "return Number(message.payload);");
        using OutputCollector aliceErrors = await SubscribeAsync(server, "alice", "/alice/run/bomb/error");
        using OutputCollector bobResults = await SubscribeAsync(server, "bob", "/bob/run/echo/result");

        Assert.Equal(0, (await PublishAsync(server, "alice", "/alice/run/bomb", ["go"])).ExitCode);
        Assert.True(await aliceErrors.WaitForLineAsync(l => l.Contains("engine.maxQueuedRunsPerAccount", StringComparison.Ordinal) ||
            l.Contains("engine.maxRunHops", StringComparison.Ordinal), TimeSpan.FromSeconds(20)), server.Output[^Math.Min(3000, server.Output.Length)..]);

        // Bob's five requests, each acknowledged (mosquitto_pub exits 0 only once all are), all run, in order.
        Assert.Equal(0, (await PublishAsync(server, "bob", "/bob/run/echo", ["1", "2", "3", "4", "5"])).ExitCode);
        Assert.True(await bobResults.WaitForLineAsync(l => l == "5", TimeSpan.FromSeconds(30)), server.Output[^Math.Min(3000, server.Output.Length)..]);
        Assert.Equal(["1", "2", "3", "4", "5"], bobResults.Lines);
        Assert.DoesNotContain("session queue full", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_spinning_account_with_a_backlog_does_not_starve_another_account()
    {
        await using IotpeServer server = await StartAsync("""{ "engine": { "runTimeoutMilliseconds": 300, "scriptWorkers": 1 } }""", "alice", "bob");
        await LoadAsync(server, "alice", "spin", "while (true) {}");
        await LoadAsync(server, "bob", "echo", "return Number(message.payload);");
        using OutputCollector aliceErrors = await SubscribeAsync(server, "alice", "/alice/run/spin/error");
        using OutputCollector bobResults = await SubscribeAsync(server, "bob", "/bob/run/echo/result");

        // 300 requests of 300 ms each: 90 s of work for alice's account.
        Assert.Equal(0, (await PublishAsync(server, "alice", "/alice/run/spin", Enumerable.Repeat("x", 300))).ExitCode);
        Assert.True(await aliceErrors.WaitForLineAsync(l => l.Contains("TimedOut", StringComparison.Ordinal), TimeSpan.FromSeconds(10)));

        var waited = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(0, (await PublishAsync(server, "bob", "/bob/run/echo", ["42"])).ExitCode);
        Assert.True(await bobResults.WaitForLineAsync(l => l == "42", TimeSpan.FromSeconds(60)));
        // Alice's current run, then bob's: well under a second; before, bob waited behind alice's backlog.
        Assert.True(waited.Elapsed < TimeSpan.FromSeconds(2.5), $"bob's run waited {waited.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task A_request_running_when_the_process_died_twice_is_quarantined_and_not_run_again()
    {
        await using IotpeServer server = await StartAsync("""{ "engine": { "runTimeoutMilliseconds": 600000 } }""", "alice");
        await LoadAsync(server, "alice", "hang", "log('hang-started'); while (true) {}");
        // A persistent session subscribed before the crashes keeps the error for the watcher.
        string[] watcher = ["-u", "alice", "-P", Password, "-c", "-i", "quarantine-watcher", "-q", "1", "-t", "/alice/run/hang/error"];
        Assert.Equal(0, (await MosquittoClients.RunOnceAsync(server.Port, [.. watcher, "-E"])).ExitCode);

        Assert.Equal(0, (await PublishAsync(server, "alice", "/alice/run/hang", ["go"])).ExitCode);
        for (int started = 1; started <= 2; started++)
        {
            Assert.True(await WaitForCountAsync(server, "hang-started", started), server.Output);
            server.Kill(); // as a crash in the script worker would
            await server.RestartAsync();
        }

        Assert.True(await server.WaitForOutputAsync("Quarantined the run request on '/alice/run/hang'", TimeSpan.FromSeconds(20)), server.Output);
        ProcessRun error = await MosquittoClients.RunOnceAsync(server.Port, [.. watcher, "-C", "1", "-W", "10"]);
        Assert.Contains("\"status\":\"Quarantined\"", error.StandardOutput, StringComparison.Ordinal);
        ProcessRun list = await server.CommandAsync(["script", "list", "alice"]);
        Assert.Contains("quarantined\t/alice/run/hang", list.StandardOutput, StringComparison.Ordinal);
        // Not run a third time: the engine has moved on (a new request runs) and the hang never restarted.
        await LoadAsync(server, "alice", "echo", "return 'alive';");
        using OutputCollector results = await SubscribeAsync(server, "alice", "/alice/run/echo/result");
        Assert.Equal(0, (await PublishAsync(server, "alice", "/alice/run/echo", ["x"])).ExitCode);
        Assert.True(await results.WaitForLineAsync(l => l == "\"alive\"", TimeSpan.FromSeconds(20)));
        Assert.Equal(2, Regex.Count(server.Output, "hang-started"));
    }

    private static async Task<IotpeServer> StartAsync(string configJson, params string[] accounts)
    {
        string config = Path.GetTempFileName();
        await File.WriteAllTextAsync(config, configJson);
        IotpeServer server = await IotpeServer.StartAsync(["--config", config], allowAnonymous: false);
        foreach (string account in accounts)
        {
            await server.AddAccountAsync(account, Password);
        }
        Assert.True(await server.WaitForOutputAsync($"Accounts reloaded: {accounts.Length} accounts"), server.Output);
        return server;
    }

    private static async Task LoadAsync(IotpeServer server, string account, string name, string script)
    {
        string file = Path.Combine(server.DataFolder, account + "-" + name + ".src.js");
        await File.WriteAllTextAsync(file, script);
        ProcessRun load = await server.CommandAsync(["script", "load", account, name, file]);
        Assert.True(load.ExitCode == 0, load.StandardError);
    }

    // Returns once the SUBACK arrived, so no outcome can come before the subscription.
    private static Task<OutputCollector> SubscribeAsync(IotpeServer server, string account, string filter) =>
        MosquittoClients.StartSubscriberAsync(server.Port, ["-u", account, "-P", Password, "-q", "1", "-t", filter]);

    private static Task<ProcessRun> PublishAsync(IotpeServer server, string account, string topic, IEnumerable<string> payloads) =>
        ProcessRun.RunAsync("mosquitto_pub",
            ["-h", "127.0.0.1", "-p", server.Port.ToString(CultureInfo.InvariantCulture), "-u", account, "-P", Password, "-q", "1", "-t", topic, "-l"],
            TimeSpan.FromSeconds(30), standardInput: string.Join('\n', payloads) + "\n");

    private static async Task<bool> WaitForCountAsync(IotpeServer server, string text, int count)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (Regex.Count(server.Output, Regex.Escape(text)) >= count)
            {
                return true;
            }
            await Task.Delay(20);
        }
        return false;
    }
}

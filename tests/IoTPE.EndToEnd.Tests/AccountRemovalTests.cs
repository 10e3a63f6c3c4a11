using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// Issue 10, case 6: <c>iotpe account remove</c> removes everything of the account — retained messages
/// under <c>/&lt;account&gt;/</c>, its sessions and their queues, kv entries, scripts and versions, grants
/// given and received, its database — whether iotpe runs or not, and the name cannot be created again
/// while any of it remains; a new account of the same name inherits nothing.
/// </summary>
public sealed class AccountRemovalTests : IAsyncLifetime
{
    private const string Password = "s3cret-pw";
    private IotpeServer _server = null!;
    private string _config = null!;

    public async Task InitializeAsync()
    {
        // A long run budget makes the engine's grace period before it deletes a database (one run
        // budget) long enough to see the name refused while the removal is under way.
        _config = Path.GetTempFileName();
        await File.WriteAllTextAsync(_config, """{ "engine": { "runTimeoutMilliseconds": 4000 } }""");
        _server = await IotpeServer.StartAsync(["--config", _config], allowAnonymous: true);
        await _server.AddAccountAsync("erin", Password);
        await _server.AddAccountAsync("bob", Password);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 2 accounts"), _server.Output);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_config);
    }

    private static string[] Login(string account) => ["-u", account, "-P", Password];

    private Task<OutputCollector> SubscribeAsync(string[] login, params string[] arguments) =>
        MosquittoClients.StartSubscriberAsync(_server.Port, [.. login, .. arguments, "-v", "-q", "1"]);

    private async Task PublishAsync(string[] login, string topic, string message, bool retain = false)
    {
        ProcessRun pub = await MosquittoClients.PublishAsync(_server.Port, [.. login, "-q", "1", "-t", topic, "-m", message, .. (retain ? (string[])["-r"] : [])]);
        Assert.True(pub.ExitCode == 0, pub.StandardError);
    }

    /// <summary>The messages <paramref name="sub"/> received up to and including <paramref name="marker"/>, published last.</summary>
    private async Task<IReadOnlyList<string>> ReceivedUntilMarkerAsync(OutputCollector sub, string[] login, string marker)
    {
        await PublishAsync(login, marker, "marker");
        Assert.True(await sub.WaitForLineAsync(l => l == marker + " marker", TimeSpan.FromSeconds(10)), string.Join('\n', sub.Lines));
        return sub.Lines;
    }

    private async Task<string> RunAsync(string account, string name, string script)
    {
        string file = Path.Combine(_server.DataFolder, name + ".src.js");
        await File.WriteAllTextAsync(file, script);
        ProcessRun load = await _server.CommandAsync(["script", "load", account, name, file]);
        Assert.True(load.ExitCode == 0, load.StandardError);
        using OutputCollector outcome = await SubscribeAsync(Login(account), "-t", $"/{account}/run/{name}/+");
        await PublishAsync(Login(account), $"/{account}/run/{name}", "{}");
        Assert.True(await outcome.WaitForLineAsync(l => l.StartsWith('/'), TimeSpan.FromSeconds(10)), outcome.Error);
        return outcome.Lines.First(l => l.StartsWith('/'));
    }

    /// <summary>Waits until <paramref name="text"/> appears in the output after the first <paramref name="after"/>.</summary>
    private async Task WaitForOutputAfterAsync(string after, string text)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!Appears() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.True(Appears(), _server.Output);

        bool Appears()
        {
            string output = _server.Output;
            int start = output.IndexOf(after, StringComparison.Ordinal);
            return start >= 0 && output.IndexOf(text, start, StringComparison.Ordinal) >= 0;
        }
    }

    /// <summary>Gives erin a grant to bob, a script with kv and database data, a retained message, a script file and a session with a queued message.</summary>
    private async Task GiveErinDataAsync()
    {
        using (OutputCollector grants = await SubscribeAsync(Login("erin"), "-t", "/erin/grant_result"))
        {
            await PublishAsync(Login("erin"), "/erin/grant_sub_topic", """{"name":"data/#","accountId":"bob"}""");
            Assert.True(await grants.WaitForLineAsync(l => l.Contains("\"ok\":true", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), string.Join('\n', grants.Lines));
        }
        string kept = await RunAsync("erin", "keep", """
            kv.set('secret', 'kv-of-old-erin');
            db.exec('CREATE TABLE t (x)');
            db.exec('INSERT INTO t VALUES (?)', ['db-of-old-erin']);
            publish('/erin/data/config', 'retained-of-old-erin', { qos: 1, retain: true });
            return 'kept';
            """);
        Assert.Equal("/erin/run/keep/result \"kept\"", kept);
        Directory.CreateDirectory(Path.Combine(_server.DataFolder, "scripts", "erin"));
        await File.WriteAllTextAsync(Path.Combine(_server.DataFolder, "scripts", "erin", "file.js"), "return 'file of old erin';");
        using (await SubscribeAsync(Login("erin"), "-c", "-i", "erin-dev", "-t", "/erin/data/#"))
        {
        }
        await PublishAsync(Login("erin"), "/erin/data/queued", "queued-for-old-erin");
    }

    /// <summary>What a new erin finds: nothing of the old one.</summary>
    private async Task AssertNewErinInheritsNothingAsync()
    {
        using OutputCollector device = await SubscribeAsync(Login("erin"), "-c", "-i", "erin-dev", "-t", "/erin/#");
        Assert.Equal(["/erin/marker marker"], await ReceivedUntilMarkerAsync(device, Login("erin"), "/erin/marker"));
        Assert.DoesNotContain("keep", (await _server.CommandAsync(["script", "list", "erin"])).StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("bob", (await _server.CommandAsync(["grant", "list", "erin"])).StandardOutput, StringComparison.Ordinal);
        string check = await RunAsync("erin", "check", "return [kv.get('secret'), db.query('SELECT name FROM sqlite_master').length];");
        Assert.Equal("/erin/run/check/result [null,0]", check);
        Assert.False(Directory.Exists(Path.Combine(_server.DataFolder, "scripts", "erin")), "the old erin's script files are still where the new one would run them");
        Assert.Single(Directory.GetDirectories(Path.Combine(_server.DataFolder, "scripts", ".removed"), "erin-*"));
    }

    [Fact]
    public async Task Removing_an_account_while_iotpe_runs_removes_all_of_it_and_the_name_waits_until_it_is_gone()
    {
        await GiveErinDataAsync();
        using OutputCollector bob = await SubscribeAsync(Login("bob"), "-t", "/erin/data/#", "-t", "/bob/marker");

        ProcessRun remove = await _server.CommandAsync(["account", "remove", "erin"]);
        Assert.True(remove.ExitCode == 0, remove.StandardError);
        ProcessRun tooEarly = await _server.CommandAsync(["account", "add", "erin", "--password-stdin"], Password + "\n");
        Assert.Equal(1, tooEarly.ExitCode);
        Assert.Contains("account 'erin' cannot be created yet", tooEarly.StandardError, StringComparison.Ordinal);
        Assert.Contains("database folder", tooEarly.StandardError, StringComparison.Ordinal);
        Assert.True(await _server.WaitForOutputAsync("Account erin removed", TimeSpan.FromSeconds(20)), _server.Output);

        // Nobody receives the removed account's retained data: not an anonymous wildcard subscriber.
        using (OutputCollector anonymous = await SubscribeAsync([], "-t", "/erin/#", "-t", "marker/anonymous"))
        {
            Assert.Equal(["marker/anonymous marker"], await ReceivedUntilMarkerAsync(anonymous, [], "marker/anonymous"));
        }

        await _server.AddAccountAsync("erin", Password);
        await WaitForOutputAfterAsync("Account erin removed", "Accounts reloaded: 2 accounts");
        await AssertNewErinInheritsNothingAsync();

        // bob's grant went with the old erin: his subscription no longer delivers the new erin's data.
        await PublishAsync(Login("erin"), "/erin/data/new", "of-new-erin");
        Assert.DoesNotContain(await ReceivedUntilMarkerAsync(bob, Login("bob"), "/bob/marker"), l => l.Contains("of-new-erin", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Removing_an_account_while_iotpe_is_stopped_finishes_at_once()
    {
        await GiveErinDataAsync();
        Assert.Equal(0, await _server.StopAsync());

        ProcessRun remove = await _server.CommandAsync(["account", "remove", "erin"]);
        Assert.True(remove.ExitCode == 0, remove.StandardError);
        Assert.DoesNotContain("running iotpe", remove.StandardOutput, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_server.DataFolder, "accounts", "erin")), "the database folder is still there");
        await _server.AddAccountAsync("erin", Password);

        await _server.RestartAsync();
        await AssertNewErinInheritsNothingAsync();
    }
}

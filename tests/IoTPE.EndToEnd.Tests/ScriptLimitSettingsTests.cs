using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>The engine's limits come from the configuration file, and a full account database is a clear script error.</summary>
public sealed class ScriptLimitSettingsTests : IAsyncLifetime
{
    private const string Password = "s3cret-pw";
    private IotpeServer _server = null!;
    private string _config = null!;

    public async Task InitializeAsync()
    {
        _config = Path.GetTempFileName();
        await File.WriteAllTextAsync(_config, """
            { "engine": { "databaseLimitMegabytes": 1, "runTimeoutMilliseconds": 300, "maxPublishesPerRun": 5 } }
            """);
        _server = await IotpeServer.StartAsync(["--config", _config], allowAnonymous: false);
        await _server.AddAccountAsync("acme", Password);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 1 accounts"), _server.Output);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_config);
    }

    private async Task<string> RunAsync(string name, string script)
    {
        string file = Path.Combine(_server.DataFolder, name + ".js");
        await File.WriteAllTextAsync(file, script);
        Assert.Equal(0, (await _server.CommandAsync(["script", "load", "acme", name, file])).ExitCode);
        using OutputCollector outcome = await MosquittoClients.StartSubscriberAsync(_server.Port, ["-u", "acme", "-P", Password, "-t", $"/acme/run/{name}/+", "-v"]);
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, "-u", "acme", "-P", Password, "-q", "1", "-t", $"/acme/run/{name}", "-m", "{}")).ExitCode);
        Assert.True(await outcome.WaitForLinesAsync(1, TimeSpan.FromSeconds(10)) is [_, ..], "no outcome");
        return outcome.Lines[0];
    }

    [Fact]
    public async Task A_full_account_database_is_a_clear_error_and_keeps_earlier_data()
    {
        string line = await RunAsync("fill", """
            db.exec('CREATE TABLE IF NOT EXISTS blobs (b)');
            db.exec('INSERT INTO blobs VALUES (?)', ['kept']);
            var chunk = 'x'.repeat(100000);
            for (var i = 0; i < 100; i++) { db.exec('INSERT INTO blobs VALUES (?)', [chunk + i]); }
            """);
        Assert.StartsWith("/acme/run/fill/error ", line, StringComparison.Ordinal);
        Assert.Contains("database is full (limit 1 MiB)", line, StringComparison.Ordinal);
        string count = await RunAsync("count", "return db.query('SELECT b FROM blobs WHERE b = ?', ['kept']).length;");
        Assert.Equal("/acme/run/count/result 1", count);
    }

    [Fact]
    public async Task The_configured_time_budget_and_publish_limit_apply()
    {
        string spin = await RunAsync("spin", "var start = Date.now(); while (true) {}");
        Assert.Contains("longer than 300 ms", spin, StringComparison.Ordinal);
        string storm = await RunAsync("storm", "for (var i = 0; i < 10; i++) { publish('/acme/x', 'p' + i); }");
        Assert.Contains("at most 5 publishes per run", storm, StringComparison.Ordinal);
    }
}

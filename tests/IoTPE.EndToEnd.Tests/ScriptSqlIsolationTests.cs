using System.Globalization;
using IoTPE.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// A hostile tenant's SQL, through the published binary (issue 10, cases 1, 4 and 5's TEMP part):
/// SQLite's native-pointer functions, a result bigger than memory and TEMP tables outside the
/// database's cap each end the run with a clear error, the process stays up and small, and another
/// account keeps being served.
/// </summary>
public sealed class ScriptSqlIsolationTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Password = "s3cret-pw";
    private const long MiB = 1024 * 1024;
    private IotpeServer _server = null!;
    private string _config = null!;

    public async Task InitializeAsync()
    {
        _config = Path.GetTempFileName();
        // A result cap other than the default, to show the setting reaches the databases.
        await File.WriteAllTextAsync(_config, """{ "engine": { "databaseResultLimitMegabytes": 2 } }""");
        _server = await IotpeServer.StartAsync(["--config", _config], allowAnonymous: false);
        await _server.AddAccountAsync("alice", Password);
        await _server.AddAccountAsync("bob", Password);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 2 accounts"), _server.Output);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_config);
    }

    [Fact]
    public async Task Fts3_tokenizer_is_refused_in_both_forms_and_a_planted_tokenizer_cannot_be_used()
    {
        // The one-argument form returns a native pointer (an ASLR leak); the two-argument form plants one
        // that CREATE VIRTUAL TABLE ... tokenize= then calls: the process died with a general protection fault.
        string leak = await RunAsync("alice", "leak", "return db.query(\"SELECT hex(fts3_tokenizer('simple')) AS p\");");
        AssertRefused(leak, "not allowed in a script's database: function fts3_tokenizer");

        string plant = await RunAsync("alice", "plant", """
            db.query("SELECT fts3_tokenizer('evil', x'4141414141414141')");
            db.exec("CREATE VIRTUAL TABLE boom USING fts3(x, tokenize=evil)");
            """);
        AssertRefused(plant, "not allowed in a script's database: function fts3_tokenizer");

        string boom = await RunAsync("alice", "boom", """
            db.exec("CREATE VIRTUAL TABLE boom USING fts3(x, tokenize=evil)");
            db.exec("INSERT INTO boom VALUES ('x')");
            """);
        AssertRefused(boom, "fts3");

        Assert.True(File.Exists($"/proc/{_server.ProcessId}/status"), "iotpe died:\n" + _server.Output);
        await AssertBobIsServedAsync();
    }

    [Fact]
    public async Task A_result_bigger_than_memory_is_a_clear_error_and_the_process_stays_small()
    {
        long before = MemoryOf(_server.ProcessId, "VmRSS");

        string zeroblob = await RunAsync("alice", "zeroblob", "return db.query('SELECT zeroblob(?) AS z', [999999999]);");
        AssertRefused(zeroblob, "string or blob too big");

        string rows = await RunAsync("alice", "rows", """
            return db.query('WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100) SELECT randomblob(500000) AS b FROM c').length;
            """);
        AssertRefused(rows, "the query's result exceeds 2 MiB");

        // 200 MB to sort: in memory (not in a temporary file), and stopped at the statement's memory limit.
        string sort = await RunAsync("alice", "sort", """
            return db.exec('WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000) SELECT zeroblob(100000) AS b, i FROM c ORDER BY b');
            """);
        AssertRefused(sort, "the statement needs more than 64 MiB of memory");

        // VmHWM is the peak: a transient 3 GB spike, as before the fix, would show here after the fact.
        long peak = MemoryOf(_server.ProcessId, "VmHWM");
        output.WriteLine($"VmRSS before: {before / MiB} MiB; VmHWM after: {peak / MiB} MiB");
        Assert.True(peak - before < 200 * MiB, $"iotpe's resident memory peaked at {peak / MiB} MiB, from {before / MiB} MiB");
        await AssertBobIsServedAsync();
    }

    [Fact]
    public async Task Temp_tables_are_refused_and_leave_no_file_outside_the_database()
    {
        string temp = await RunAsync("alice", "temp", """
            db.exec('CREATE TEMP TABLE hoard (b)');
            for (var i = 0; i < 3; i++) { db.exec('INSERT INTO hoard VALUES (randomblob(500000))'); }
            return 'stored';
            """);
        AssertRefused(temp, "TEMP objects are not allowed");

        string qualified = await RunAsync("alice", "qualified", "db.exec('CREATE TABLE temp.hoard (b)'); return 'stored';");
        AssertRefused(qualified, "TEMP objects are not allowed");

        // SQLite's temporary files are named etilqs_* and deleted while open: only /proc shows them.
        string[] held = [.. Directory.GetFiles($"/proc/{_server.ProcessId}/fd")
            .Select(fd => new FileInfo(fd).LinkTarget ?? "")
            .Where(target => target.Contains("etilqs", StringComparison.Ordinal))];
        Assert.Empty(held);
        await AssertBobIsServedAsync();
    }

    private static void AssertRefused(string outcome, string message)
    {
        Assert.Contains("\"status\":\"Threw\"", outcome, StringComparison.Ordinal);
        Assert.True(outcome.Contains(message, StringComparison.Ordinal), outcome);
    }

    private async Task AssertBobIsServedAsync()
    {
        string result = await RunAsync("bob", "ok", """
            db.exec('CREATE TABLE IF NOT EXISTS seen (at)');
            db.exec("INSERT INTO seen VALUES (datetime('now'))");
            return db.query('SELECT count(*) AS n FROM seen')[0].n > 0 ? 'served' : 'empty';
            """);
        Assert.Equal("\"served\"", result);
    }

    /// <summary>
    /// Loads <paramref name="script"/> and runs it once with an MQTT 5 request (mosquitto_rr subscribes
    /// to the response topic before it publishes); returns the response: the result, or the error object.
    /// </summary>
    private async Task<string> RunAsync(string account, string name, string script)
    {
        string file = Path.Combine(_server.DataFolder, name + ".js");
        await File.WriteAllTextAsync(file, script);
        ProcessRun load = await _server.CommandAsync(["script", "load", account, name, file]);
        Assert.True(load.ExitCode == 0, load.StandardError);
        ProcessRun run = await ProcessRun.RunAsync("mosquitto_rr", ["-h", "127.0.0.1", "-p", _server.Port.ToString(CultureInfo.InvariantCulture),
            "-u", account, "-P", Password, "-q", "1", "-t", $"/{account}/run/{name}", "-e", $"/{account}/reply/{name}", "-m", "{}", "-W", "30"],
            TimeSpan.FromSeconds(40));
        Assert.True(run.ExitCode == 0, $"no response to {name}: {run.StandardError}\n{_server.Output}");
        return run.StandardOutput.Trim();
    }

    private static long MemoryOf(int processId, string field) => ProcStatus.Read(processId, field) * 1024;
}

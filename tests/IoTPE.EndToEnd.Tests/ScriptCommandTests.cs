using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>Stored scripts serving commands in the wire format of docs/commands.md: resolve, reject, cancel.</summary>
public sealed class ScriptCommandTests : IAsyncLifetime
{
    private const string Password = "s3cret-pw";
    private IotpeServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await IotpeServer.StartAsync(allowAnonymous: false);
        await _server.AddAccountAsync("acme", Password);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 1 accounts"), _server.Output);
        await LoadAsync("double", "if (typeof message.json.x !== 'number') { throw new TypeError('x must be a number'); }\nreturn { doubled: message.json.x * 2, id: message.messageId };");
        await LoadAsync("slow", "var start = Date.now(); while (Date.now() - start < 900) {} return 'late';");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private string[] Login => ["-u", "acme", "-P", Password];

    private async Task LoadAsync(string name, string text)
    {
        string file = Path.Combine(_server.DataFolder, name + ".js");
        await File.WriteAllTextAsync(file, text);
        Assert.Equal(0, (await _server.CommandAsync(["script", "load", "acme", name, file])).ExitCode);
    }

    private async Task<OutputCollector> ResultsAsync(string command)
    {
        return await MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login, "-t", $"/acme/cmd/{command}/+", "-v", "-q", "2"]);
    }

    private Task<ProcessRun> CallAsync(string command, string json, string suffix = "") =>
        MosquittoClients.PublishAsync(_server.Port, [.. Login, "-q", "2", "-t", $"/acme/cmd/{command}{suffix}", "-m", json]);

    [Fact]
    public async Task A_return_value_resolves_the_call()
    {
        using OutputCollector results = await ResultsAsync("double");
        Assert.Equal(0, (await CallAsync("double", """{"messageId":"m-1","payload":{"x":21}}""")).ExitCode);
        Assert.True(await results.WaitForLineAsync(l => l.StartsWith("/acme/cmd/double/resolve", StringComparison.Ordinal)), string.Join('\n', results.Lines));
        Assert.Equal("""/acme/cmd/double/resolve {"messageId":"m-1","result":{"doubled":42,"id":"m-1"}}""", results.Lines.Single());
    }

    [Fact]
    public async Task A_thrown_error_rejects_the_call()
    {
        using OutputCollector results = await ResultsAsync("double");
        Assert.Equal(0, (await CallAsync("double", """{"messageId":"m-2","payload":{"x":"twenty"}}""")).ExitCode);
        Assert.True(await results.WaitForLineAsync(l => l.StartsWith("/acme/cmd/double/reject", StringComparison.Ordinal)), string.Join('\n', results.Lines));
        Assert.Equal("""/acme/cmd/double/reject {"messageId":"m-2","error":{"message":"TypeError: x must be a number","code":"Threw","details":{"line":1,"column":49}}}""", results.Lines.Single());
    }

    [Fact]
    public async Task A_cancelled_call_is_rejected_as_cancelled()
    {
        using OutputCollector results = await ResultsAsync("slow");
        Assert.Equal(0, (await CallAsync("slow", """{"messageId":"first","payload":null}""")).ExitCode);
        Assert.Equal(0, (await CallAsync("slow", """{"messageId":"second","payload":null}""")).ExitCode);
        Assert.Equal(0, (await CallAsync("slow", """{"messageId":"second"}""", "/cancel")).ExitCode);
        // A third call after them: the account's calls run in order, so a result the cancelled call
        // wrongly produced would come before the third's.
        Assert.Equal(0, (await CallAsync("slow", """{"messageId":"third","payload":null}""")).ExitCode);
        Assert.True(await results.WaitForLineAsync(l => l.Contains("\"messageId\":\"third\"", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), string.Join('\n', results.Lines));
        string[] lines = [.. results.Lines.Where(l => !l.StartsWith("/acme/cmd/slow/cancel", StringComparison.Ordinal) && !l.Contains("\"messageId\":\"third\"", StringComparison.Ordinal))];
        Assert.Contains("""/acme/cmd/slow/resolve {"messageId":"first","result":"late"}""", lines);
        Assert.Contains("""/acme/cmd/slow/reject {"messageId":"second","error":{"message":"The call was cancelled.","code":"cancelled"}}""", lines);
        Assert.Equal(2, lines.Length);
    }

    [Fact]
    public async Task A_call_without_a_script_is_rejected_as_not_found()
    {
        using OutputCollector results = await ResultsAsync("missing");
        Assert.Equal(0, (await CallAsync("missing", """{"messageId":"m-3","payload":1}""")).ExitCode);
        Assert.True(await results.WaitForLineAsync(l => l.Contains("\"code\":\"NotFound\"", StringComparison.Ordinal)), string.Join('\n', results.Lines));
    }
}

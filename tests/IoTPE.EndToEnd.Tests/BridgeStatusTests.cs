using System.Globalization;
using System.Text.RegularExpressions;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// What a bridge shows about its backlog while the central is away: <c>$SYS/broker/bridge/&lt;name&gt;/</c>
/// from the running edge, and <c>iotpe bridge status</c> from the data folder (the broker's queue and the
/// bridge client's pending publishes), while the edge runs and after it stopped.
/// </summary>
public sealed class BridgeStatusTests
{
    [Fact]
    public async Task A_backlog_shows_in_sys_topics_and_in_bridge_status_with_its_oldest_age()
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        await central.StopAsync(); // away for the whole test: its port refuses connections
        await using IotpeServer edge = await BridgeTests.StartEdgeAsync(central.Port, extraConfig: "\"broker\": { \"sysInterval\": 1 },");
        await BridgeTests.PublishAtEdgeAsync(edge, "fwd/status", "status");

        using OutputCollector sys = await MosquittoClients.StartSubscriberAsync(edge.Port, "-t", "$SYS/broker/bridge/central/#", "-v");
        Assert.True(await sys.WaitUntilAsync(() => Latest(sys, "queued messages") == BridgeTests.Messages && Latest(sys, "oldest queued age") >= 2,
            TimeSpan.FromSeconds(20)), string.Join('\n', sys.Lines));
        Assert.Equal(0, Latest(sys, "connected"));
        Assert.True(Latest(sys, "queued bytes") > BridgeTests.Messages * "fwd/status".Length);

        ProcessRun running = await edge.CommandAsync(["bridge", "status"]);
        Assert.True(running.ExitCode == 0, running.StandardError);
        AssertStatus(running.StandardOutput, minimumAge: 2);
        // The running client's state file is read as it stands: the bridge hands its client up to a window of
        // messages even while away, and they wait there, stored, for the remote.
        long pendingWhileRunning = Field(running.StandardOutput, "pending at the remote client");
        Assert.InRange(pendingWhileRunning, 1, BridgeTests.Messages);

        await edge.StopAsync();
        ProcessRun stopped = await edge.CommandAsync(["bridge", "status", "central"]);
        Assert.True(stopped.ExitCode == 0, stopped.StandardError);
        AssertStatus(stopped.StandardOutput, minimumAge: 2);
        // Nothing was sent meanwhile: the count the running broker's file showed is the one it left.
        Assert.Equal(pendingWhileRunning, Field(stopped.StandardOutput, "pending at the remote client"));
        Assert.Contains("connected: not knowable", stopped.StandardOutput, StringComparison.Ordinal);

        ProcessRun unknown = await edge.CommandAsync(["bridge", "status", "elsewhere"]);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no bridge 'elsewhere'", unknown.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_state_file_whose_client_has_not_yet_created_its_tables_shows_nothing_pending()
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        await central.StopAsync();
        await using IotpeServer edge = await BridgeTests.StartEdgeAsync(central.Port);
        // As the client leaves it between creating the file and committing its first transaction. The bridge
        // starts beside the listeners, so the file may come a moment after the edge listens.
        string statePath = Path.Combine(edge.DataFolder, "bridge-central.db");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(statePath) && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }
        await edge.StopAsync();
        Assert.True(File.Exists(statePath), "the bridge client made no state file");
        foreach (string suffix in new[] { "-wal", "-shm" })
        {
            File.Delete(statePath + suffix);
        }
        await File.WriteAllBytesAsync(statePath, []);

        ProcessRun status = await edge.CommandAsync(["bridge", "status", "central"]);
        Assert.True(status.ExitCode == 0, status.StandardError);
        Assert.Equal(0, Field(status.StandardOutput, "pending at the remote client"));
    }

    private static void AssertStatus(string output, int minimumAge)
    {
        Assert.StartsWith("bridge central", output, StringComparison.Ordinal);
        Assert.Equal(BridgeTests.Messages, Field(output, "queued messages"));
        Assert.True(Field(output, "queued bytes") > BridgeTests.Messages * "fwd/status".Length, output);
        Assert.True(Field(output, "oldest queued age") >= minimumAge, output);
    }

    // The number after "  NAME: " in the status output.
    private static long Field(string output, string name)
    {
        Match m = Regex.Match(output, "^  " + Regex.Escape(name) + @": (\d+)", RegexOptions.Multiline);
        Assert.True(m.Success, $"no '{name}' in:\n{output}");
        return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    // The last value seen on $SYS/broker/bridge/central/NAME, or -1.
    private static long Latest(OutputCollector sys, string name)
    {
        string prefix = "$SYS/broker/bridge/central/" + name + " ";
        string? line = sys.Lines.LastOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is not null && long.TryParse(line[prefix.Length..], CultureInfo.InvariantCulture, out long value) ? value : -1;
    }
}

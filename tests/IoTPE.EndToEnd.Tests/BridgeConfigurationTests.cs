using System.Globalization;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// The bridge follows its configuration through the published binaries: topic prefixes both ways
/// (<c>localPrefix</c>/<c>remotePrefix</c>, as Mosquitto's bridge prefixes), and filters taken out of
/// the configuration (a restart with a new file) no longer subscribed on their side.
/// </summary>
public sealed class BridgeConfigurationTests
{
    [Fact]
    public async Task Prefixes_rename_forwarded_topics_for_the_central_and_received_topics_for_the_edge()
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        using OutputCollector atCentral = await MosquittoClients.StartSubscriberAsync(central.Port, "-t", "#", "-v", "-q", "2");
        await using IotpeServer edge = await BridgeTests.StartEdgeAsync(central.Port, forward: ["fwd/#"], receive: ["cmd/#"],
            extraKeys: "\"localPrefix\": \"site/\", \"remotePrefix\": \"edge-7/\",");
        using OutputCollector atEdge = await MosquittoClients.StartSubscriberAsync(edge.Port, "-t", "#", "-v", "-q", "2");
        Assert.True(await edge.WaitForOutputAsync("Bridge central: connected", TimeSpan.FromSeconds(30)), edge.Output);

        // Outside the local prefix: not forwarded, though it matches "fwd/#" itself. Sent first, so that
        // it would reach the central before the forwarded one (the bridge keeps the order).
        Assert.Equal(0, (await MosquittoClients.PublishAsync(edge.Port, "-t", "fwd/plain", "-m", "0", "-q", "2")).ExitCode);
        Assert.Equal(0, (await MosquittoClients.PublishAsync(edge.Port, "-t", "site/fwd/a", "-m", "1", "-q", "2")).ExitCode);
        Assert.True(await atCentral.WaitUntilAsync(() => atCentral.Lines.Contains("edge-7/fwd/a 1"), TimeSpan.FromSeconds(30)),
            string.Join('\n', atCentral.Lines) + edge.Output);
        Assert.DoesNotContain(atCentral.Lines, l => l.EndsWith(" 0", StringComparison.Ordinal));

        // The bridge subscribes at the central after it connected: publish until one arrives.
        int published = 0;
        do
        {
            Assert.Equal(0, (await MosquittoClients.PublishAsync(central.Port, "-t", "edge-7/cmd/x", "-m", "2", "-q", "2")).ExitCode);
            published++;
        }
        while (published < 20 && !await atEdge.WaitUntilAsync(() => atEdge.Lines.Contains("site/cmd/x 2"), TimeSpan.FromSeconds(2)));
        Assert.Contains("site/cmd/x 2", atEdge.Lines);
        // Only the renamed copy reaches the edge's subscribers.
        Assert.DoesNotContain(atEdge.Lines, l => l.StartsWith("edge-7/", StringComparison.Ordinal) || l.StartsWith("cmd/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_receive_filter_taken_out_of_the_configuration_is_unsubscribed_at_the_central()
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        await using IotpeServer edge = await BridgeTests.StartEdgeAsync(central.Port, forward: ["fwd/#"], receive: ["cmd/#", "old/#"]);
        using (OutputCollector before = await MosquittoClients.StartSubscriberAsync(edge.Port, "-t", "#", "-v", "-q", "2"))
        {
            Assert.True(await edge.WaitForOutputAsync("Bridge central: connected", TimeSpan.FromSeconds(30)), edge.Output);
            int published = 0;
            do
            {
                Assert.Equal(0, (await MosquittoClients.PublishAsync(central.Port, "-t", "old/x", "-m", "1", "-q", "2")).ExitCode);
                published++;
            }
            while (published < 20 && !await before.WaitUntilAsync(() => before.Lines.Contains("old/x 1"), TimeSpan.FromSeconds(2)));
            Assert.Contains("old/x 1", before.Lines);
        }

        await edge.StopAsync();
        await RewriteConfigurationAsync(edge, "\"cmd/#\", \"old/#\"", "\"cmd/#\"");
        await edge.RestartAsync();
        Assert.True(await edge.WaitForOutputAsync("Bridge central: unsubscribed 'old/#' at the remote", TimeSpan.FromSeconds(30)), edge.Output);

        using OutputCollector after = await MosquittoClients.StartSubscriberAsync(edge.Port, "-t", "#", "-v", "-q", "2");
        Assert.Equal(0, (await MosquittoClients.PublishAsync(central.Port, "-t", "old/x", "-m", "2", "-q", "2")).ExitCode);
        Assert.Equal(0, (await MosquittoClients.PublishAsync(central.Port, "-t", "cmd/marker", "-m", "3", "-q", "2")).ExitCode);
        // The central sends the bridge's session what it matches in order: a copy of "old/x 2" would come first.
        Assert.True(await after.WaitUntilAsync(() => after.Lines.Contains("cmd/marker 3"), TimeSpan.FromSeconds(30)), string.Join('\n', after.Lines) + edge.Output);
        Assert.DoesNotContain("old/x 2", after.Lines);

        // And the filter stays out across a further restart (the record of subscribed filters was rewritten).
        await edge.StopAsync();
        await edge.RestartAsync();
        Assert.True(await edge.WaitForOutputAsync("Bridge central: connected", 3, TimeSpan.FromSeconds(30)), edge.Output);
        Assert.Equal(1, edge.CountOutput("unsubscribed 'old/#'"));
    }

    [Fact]
    public async Task A_forward_filter_taken_out_of_the_configuration_no_longer_queues_its_messages()
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        await central.StopAsync(); // away: whatever the bridge takes stays queued
        await using IotpeServer edge = await BridgeTests.StartEdgeAsync(central.Port, forward: ["fwd/#", "gone/#"]);
        await edge.StopAsync();
        await RewriteConfigurationAsync(edge, "\"fwd/#\", \"gone/#\"", "\"fwd/#\"");
        await edge.RestartAsync();

        Assert.Equal(0, (await MosquittoClients.PublishAsync(edge.Port, "-t", "gone/x", "-m", "1", "-q", "1")).ExitCode);
        Assert.Equal(0, (await MosquittoClients.PublishAsync(edge.Port, "-t", "fwd/x", "-m", "2", "-q", "1")).ExitCode);
        ProcessRun status = await edge.CommandAsync(["bridge", "status", "central"]);
        Assert.True(status.ExitCode == 0, status.StandardError);
        Assert.Contains("  queued messages: 1\n", status.StandardOutput, StringComparison.Ordinal);
        Assert.True(await edge.WaitForOutputAsync("'gone/#' is no longer a forward filter"), edge.Output);
    }

    /// <summary>Replaces <paramref name="from"/> by <paramref name="to"/> in the configuration file <see cref="BridgeTests.StartEdgeAsync"/> wrote.</summary>
    private static async Task RewriteConfigurationAsync(IotpeServer edge, string from, string to)
    {
        string path = Path.Combine(Path.GetDirectoryName(edge.DataFolder)!, "edge.json");
        string text = await File.ReadAllTextAsync(path);
        Assert.Contains(from, text, StringComparison.Ordinal);
        await File.WriteAllTextAsync(path, text.Replace(from, to, StringComparison.Ordinal));
    }
}

using System.Globalization;
using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.TestSupport;

namespace IoTPE.Broker.Tests;

/// <summary>
/// The <c>$SYS/broker/</c> counters, as a real mosquitto_sub sees them with the broker's clock moved
/// by hand: every interval the broker republishes only the values that changed (as Mosquitto does),
/// while the retained messages keep telling a new subscriber the values that did not.
/// </summary>
public sealed class SysTopicTests
{
    [Fact]
    public async Task Only_counters_that_changed_are_published_again_at_the_next_interval()
    {
        var clock = new ManualClock();
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.SysInterval = 10, time: clock);
        using OutputCollector sys = await MosquittoClients.StartSubscriberAsync(broker.Port, "-t", "$SYS/broker/#", "-v");

        clock.AdvanceSeconds(1); // the first tick publishes every counter
        Assert.True(await sys.WaitForLineAsync(l => l.StartsWith("$SYS/broker/heap/allocated ", StringComparison.Ordinal)), Seen(sys));
        Assert.Equal(0, Received(sys)[^1]);

        ProcessRun publish = await MosquittoClients.PublishAsync(broker.Port, "-t", "plant/temperature", "-m", "21.5");
        Assert.Equal(0, publish.ExitCode);
        clock.AdvanceSeconds(10);
        Assert.True(await sys.WaitUntilAsync(() => Received(sys).Count == 2), Seen(sys));

        Assert.Equal([0, 1], Received(sys));
        Assert.Equal(["1 seconds", "11 seconds"], Values(sys, "$SYS/broker/uptime"));
        Assert.Single(Values(sys, "$SYS/broker/version")); // published before messages/received: it would have come by now
        Assert.Equal(["1"], Values(sys, "$SYS/broker/subscriptions/count"));

        // Unchanged values are still there for whoever subscribes now: retained.
        ProcessRun late = await MosquittoClients.RunOnceAsync(broker.Port, "-t", "$SYS/broker/version", "-C", "1", "-W", "5");
        Assert.StartsWith("iotpe ", late.StandardOutput.Trim(), StringComparison.Ordinal);
    }

    private static List<long> Received(OutputCollector sys) =>
        [.. Values(sys, "$SYS/broker/messages/received").Select(v => long.Parse(v, CultureInfo.InvariantCulture))];

    private static List<string> Values(OutputCollector sys, string topic) =>
        [.. sys.Lines.Where(l => l.StartsWith(topic + " ", StringComparison.Ordinal)).Select(l => l[(topic.Length + 1)..])];

    private static string Seen(OutputCollector sys) => string.Join('\n', sys.Lines);
}

using System.Globalization;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// A gateway spends most of its life with nothing to do, on a battery or in a hot enclosure: an idle
/// <c>iotpe</c> must sleep, not wake for timers. Its periodic work (the broker's housekeeping, the
/// engine's store polls, each bridge's watch, the GPIO pins' check and counters) runs together on one
/// thread once a second. The gateway with pins is measured in <see cref="GpioTests"/>, which has them.
/// </summary>
public sealed class IdleWakeUpTests
{
    // Measured on the 2-core CI machines (2026-12-06), context switches of all threads: ~2 a second
    // with a connected bridge (the ticker's 1; the bridge client's PINGREQ every 30 s and the $SYS
    // topics every 10 s the rest). 13.5 while the bridge's watch had a .NET timer of its own, each
    // tick of which woke about four threads; 3.8 while the client checked its keep-alive every 7.5 s
    // and swept parked messages every 5 s with nothing parked. Mosquitto 2.0.11 idle: ~10.
    internal const double MaxWakeUpsPerSecond = 5;

    [Fact]
    public async Task An_idle_gateway_with_a_connected_bridge_wakes_a_few_times_a_second()
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        await using IotpeServer edge = await BridgeTests.StartEdgeAsync(central.Port); // $SYS every 10 s, the default
        Assert.True(await edge.WaitForOutputAsync("Bridge central: connected", TimeSpan.FromSeconds(20)), edge.Output);
        await Task.Delay(TimeSpan.FromSeconds(2)); // start-up's own work (loading, the first polls) ends

        double perSecond = await ProcStatus.WakeUpsPerSecondAsync(edge.ProcessId, TimeSpan.FromSeconds(10));
        Assert.True(perSecond <= MaxWakeUpsPerSecond,
            string.Create(CultureInfo.InvariantCulture, $"idle iotpe woke {perSecond:F1} times a second (at most {MaxWakeUpsPerSecond} expected)"));
        // The bridge's watch still runs on the shared tick: its $SYS count of forwarded messages moves.
        using OutputCollector sys = await MosquittoClients.StartSubscriberAsync(edge.Port, "-t", "$SYS/broker/bridge/central/forwarded", "-v");
        await BridgeTests.PublishAtEdgeAsync(edge, "fwd/idle", "idle", count: 1);
        Assert.True(await sys.WaitUntilAsync(() => sys.Lines.Any(l => l.EndsWith(" 1", StringComparison.Ordinal)), TimeSpan.FromSeconds(25)),
            string.Join('\n', sys.Lines));
    }
}

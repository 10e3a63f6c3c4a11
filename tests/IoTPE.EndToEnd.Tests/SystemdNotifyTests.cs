using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using IoTPE.EndToEnd.Tests.Infrastructure;
using IoTPE.Sqlite;
using Microsoft.Data.Sqlite;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// What the systemd unit (device/iotpe.service, Type=notify, WatchdogSec=) relies on, with a fake
/// <c>NOTIFY_SOCKET</c> in place of systemd: readiness once clients can connect, watchdog pings
/// only while the broker and its store work, and a clean, prompt stop on SIGTERM.
/// </summary>
public sealed partial class SystemdNotifyTests
{
    // WATCHDOG_USEC of 0.4 s: iotpe pings every 0.2 s.
    private static readonly Dictionary<string, string> Watchdog = new() { ["WATCHDOG_USEC"] = "400000" };

    [Fact]
    public async Task Ready_once_accepting_connections_then_watchdog_pings_at_half_the_period()
    {
        using var notify = new FakeNotifySocket();
        await using IotpeServer server = await IotpeServer.StartAsync(environment: WithSocket(notify, Watchdog));

        Assert.Equal("READY=1", (await notify.ReceiveAsync(TimeSpan.FromSeconds(10))).State);
        Assert.True(server.AcceptsConnections());
        var pings = new List<DateTime>();
        for (int i = 0; i < 6; i++)
        {
            (string state, DateTime at) = await notify.ReceiveAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("WATCHDOG=1", state);
            pings.Add(at);
        }
        // Five periods of 0.2 s: not a burst, and well within the 0.4 s systemd would allow (with room for a loaded machine).
        TimeSpan fivePeriods = pings[^1] - pings[0];
        Assert.InRange(fivePeriods.TotalSeconds, 0.8, 3.0);
    }

    [Fact]
    public async Task A_watchdog_of_seconds_pings_from_the_shared_tick_and_an_idle_process_stays_asleep()
    {
        // WATCHDOG_USEC of 4 s: a probe every 2 s on the process's one-second tick (the unit's 30 s: every 15).
        // Measured 2026-12-06: while each probe had a .NET timer, ~18 wake-ups per probe; on the tick ~4.
        using var notify = new FakeNotifySocket();
        await using IotpeServer server = await IotpeServer.StartAsync(environment: WithSocket(notify, new() { ["WATCHDOG_USEC"] = "4000000" }));
        Assert.Equal("READY=1", (await notify.ReceiveAsync(TimeSpan.FromSeconds(10))).State);
        await notify.WaitForAsync("WATCHDOG=1", TimeSpan.FromSeconds(10));

        Task<double> wakeUps = ProcStatus.WakeUpsPerSecondAsync(server.ProcessId, TimeSpan.FromSeconds(8));
        var pings = new List<DateTime>();
        for (int i = 0; i < 4; i++)
        {
            (string state, DateTime at) = await notify.ReceiveAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("WATCHDOG=1", state);
            pings.Add(at);
        }
        double perSecond = await wakeUps;

        // Every 2 s, give or take the tick: never a burst, always well before systemd's 4 s.
        Assert.All(pings.Zip(pings.Skip(1), (a, b) => (b - a).TotalSeconds), gap => Assert.InRange(gap, 1.0, 3.5));
        Assert.True(perSecond <= IdleWakeUpTests.MaxWakeUpsPerSecond,
            string.Create(CultureInfo.InvariantCulture, $"idle iotpe with a 4 s watchdog woke {perSecond:F1} times a second (at most {IdleWakeUpTests.MaxWakeUpsPerSecond} expected)"));
    }

    [Fact]
    public async Task No_watchdog_without_WATCHDOG_USEC_and_none_for_another_process()
    {
        using var notify = new FakeNotifySocket();
        var otherPid = new Dictionary<string, string>(Watchdog) { ["WATCHDOG_PID"] = "1" };
        await using IotpeServer server = await IotpeServer.StartAsync(environment: WithSocket(notify, otherPid));

        Assert.Equal("READY=1", (await notify.ReceiveAsync(TimeSpan.FromSeconds(10))).State);
        // The next notification must be STOPPING=1: no ping came in between.
        Assert.Equal(0, await server.StopAsync());
        Assert.Equal("STOPPING=1", (await notify.ReceiveAsync(TimeSpan.FromSeconds(10))).State);
    }

    [Theory]
    [InlineData("400000", 2.0)] // a ping every 0.2 s, on a timer of its own
    [InlineData("4000000", 4.5)] // every 2 s, on the process's tick; held for more than two periods, within the store's 5 s busy timeout
    public async Task Watchdog_pings_stop_while_the_store_cannot_commit_and_resume_after(string watchdogMicroseconds, double holdSeconds)
    {
        using var notify = new FakeNotifySocket();
        await using IotpeServer server = await IotpeServer.StartAsync(environment: WithSocket(notify, new() { ["WATCHDOG_USEC"] = watchdogMicroseconds }));
        await notify.WaitForAsync("WATCHDOG=1", TimeSpan.FromSeconds(10));

        // Another connection holds broker.db's write lock (as a stuck writer would): the broker's
        // commits wait for it (busy timeout 5 s), so its probe cannot come back.
        SqliteRuntime.Initialize();
        await using var blocker = new SqliteConnection($"Data Source={Path.Combine(server.DataFolder, "broker.db")};Pooling=False");
        await blocker.OpenAsync();
        await using (SqliteCommand begin = blocker.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync();
        }
        DateTime locked = DateTime.UtcNow;
        notify.Drain(); // pings sent before the lock was taken
        // A probe committed just before the lock may still arrive; after it nothing comes for the whole hold.
        var during = new List<DateTime>();
        DateTime release = locked + TimeSpan.FromSeconds(holdSeconds);
        while (DateTime.UtcNow < release)
        {
            try
            {
                during.Add((await notify.ReceiveAsync(release - DateTime.UtcNow)).ReceivedAt);
            }
            catch (TimeoutException)
            {
                break;
            }
        }
        Assert.True(during.Count <= 1, $"{during.Count} pings while the store was locked");
        await using (SqliteCommand commit = blocker.CreateCommand())
        {
            commit.CommandText = "COMMIT";
            await commit.ExecuteNonQueryAsync();
        }
        DateTime released = DateTime.UtcNow;
        DateTime resumed = await notify.WaitForAsync("WATCHDOG=1", TimeSpan.FromSeconds(10));
        Assert.True(resumed >= released);
    }

    [Fact]
    public async Task Sigterm_stops_within_the_units_timeout_with_acknowledged_messages_kept()
    {
        using var notify = new FakeNotifySocket();
        IotpeServer server = await IotpeServer.StartAsync(environment: WithSocket(notify, Watchdog));
        try
        {
            // A persistent QoS 1 subscriber goes away; 200 QoS 1 messages are acknowledged for it.
            string port = server.Port.ToString(CultureInfo.InvariantCulture);
            ProcessRun subscribed = await MosquittoClients.RunOnceAsync(server.Port, "-c", "-i", "stop-sub", "-q", "1", "-t", "stop/#", "-E");
            Assert.Equal(0, subscribed.ExitCode);
            string lines = string.Join('\n', Enumerable.Range(0, 200).Select(i => "m" + i.ToString(CultureInfo.InvariantCulture)));
            ProcessRun publish = await ProcessRun.RunAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", port, "-q", "1", "-t", "stop/x", "-l"], TimeSpan.FromSeconds(30), lines + "\n");
            Assert.Equal(0, publish.ExitCode);
            await notify.WaitForAsync("READY=1", TimeSpan.FromSeconds(10));

            var stopwatch = Stopwatch.StartNew();
            Assert.Equal(0, await server.StopAsync());
            stopwatch.Stop();
            Assert.True(stopwatch.Elapsed < UnitTimeoutStop(), $"stopped in {stopwatch.Elapsed}, the unit allows {UnitTimeoutStop()}");
            await notify.WaitForAsync("STOPPING=1", TimeSpan.FromSeconds(5));
            Assert.Contains("Stopped", server.Output, StringComparison.OrdinalIgnoreCase);

            await server.RestartAsync();
            ProcessRun resumed = await MosquittoClients.RunOnceAsync(server.Port, "-c", "-i", "stop-sub", "-q", "1", "-t", "stop/#", "-C", "200");
            Assert.Equal(0, resumed.ExitCode);
            Assert.Equal(lines.Split('\n'), resumed.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>TimeoutStopSec= of device/iotpe.service, the unit the .deb installs.</summary>
    private static TimeSpan UnitTimeoutStop()
    {
        string unit = File.ReadAllText(Path.Combine(IotpeBinary.RepoRoot, "device", "iotpe.service"));
        Match m = TimeoutStopSec().Match(unit);
        Assert.True(m.Success, "device/iotpe.service has no TimeoutStopSec=");
        return TimeSpan.FromSeconds(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    private static Dictionary<string, string> WithSocket(FakeNotifySocket notify, Dictionary<string, string> variables) =>
        new(variables) { ["NOTIFY_SOCKET"] = notify.Path };

    [GeneratedRegex(@"^TimeoutStopSec=(\d+)$", RegexOptions.Multiline)]
    private static partial Regex TimeoutStopSec();
}

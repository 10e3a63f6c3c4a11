using IoTPE.Broker;
using IoTPE.Threading;

namespace IoTPE.Edge.Hosting;

/// <summary>
/// Feeds systemd's watchdog (<c>WatchdogSec=</c>) only while the broker works: every half period
/// its own in-process session rewrites its stored record through the broker
/// (<see cref="InternalClient.ProbeStoreAsync"/>), and <c>WATCHDOG=1</c> goes out once the store
/// has committed it. A deadlocked broker or a store that no longer commits stops the pings, and
/// systemd restarts the service.
/// </summary>
/// <remarks>
/// With the unit's <c>WatchdogSec=30</c> the probes run on the process's <see cref="Ticker"/>: a probe
/// every 15 ticks, its ping at the first tick that finds it committed. On a .NET timer each probe woke
/// the process about 18 times (the timer's thread, the pool's workers and gate thread, the
/// continuation of the commit), which made it three times as wakeful as an idle gateway without a
/// watchdog. A period shorter than <see cref="MinimumTickerPeriods"/> ticks (a watchdog of a few
/// seconds) keeps a timer of its own: a ping up to a tick late would come too close to the deadline.
/// </remarks>
internal sealed class BrokerWatchdog : IAsyncDisposable
{
    /// <summary>The in-process session the probes go through.</summary>
    public const string ClientId = "$iotpe/watchdog";

    /// <summary>The shortest period, in ticks, that is served on the ticker.</summary>
    internal const int MinimumTickerPeriods = 2;

    private readonly TimeSpan _period;
    private readonly CancellationTokenSource _stopping = new();
    private readonly InternalClient _client;
    private readonly Ticker? _ticker;
    private readonly Action _tick;
    private readonly int _ticksPerProbe;
    private readonly Task _loop = Task.CompletedTask;
    private int _ticksSinceProbe;
    private Task<bool>? _probe; // the ticker's probe under way; only the ticker's thread touches it

    private BrokerWatchdog(Broker.Broker broker, TimeSpan period, Ticker ticker)
    {
        _period = period;
        // The session subscribes to nothing, so nothing is ever delivered to it.
        _client = broker.ConnectInternalClient(ClientId, maxInFlight: 1, _ => { });
        _tick = Tick;
        _ticksPerProbe = (int)(period / ticker.Period);
        if (_ticksPerProbe >= MinimumTickerPeriods)
        {
            _ticker = ticker;
            _probe = _client.ProbeStoreAsync(); // the first ping at the first tick, as the timer's
            ticker.Add(_tick);
        }
        else
        {
            _loop = RunAsync();
        }
    }

    /// <summary>Starts feeding the watchdog if systemd expects it (<c>WATCHDOG_USEC</c>); null otherwise.</summary>
    /// <param name="broker">The broker whose store the probes go through.</param>
    /// <param name="ticker">The process's periodic work, on which the probes run when the period allows.</param>
    public static BrokerWatchdog? StartIfExpected(Broker.Broker broker, Ticker ticker)
    {
        TimeSpan? timeout = SystemdNotifier.WatchdogTimeout;
        return timeout is null ? null : new BrokerWatchdog(broker, timeout.Value / 2, ticker); // half, as sd_watchdog_enabled(3) advises
    }

    private void Tick()
    {
        if (_probe is { IsCompleted: true } done)
        {
            // A failed commit sends nothing: if the store keeps failing, systemd restarts iotpe.
            if (done.Result)
            {
                SystemdNotifier.Notify("WATCHDOG=1");
            }
            _probe = null;
        }
        // A probe still under way (a store that does not commit) is not joined by another.
        if (++_ticksSinceProbe >= _ticksPerProbe && _probe is null)
        {
            _ticksSinceProbe = 0;
            _probe = _client.ProbeStoreAsync();
        }
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_period);
        try
        {
            do
            {
                // A failed commit sends nothing: if the store keeps failing, systemd restarts iotpe.
                if (await _client.ProbeStoreAsync().WaitAsync(_stopping.Token).ConfigureAwait(false))
                {
                    SystemdNotifier.Notify("WATCHDOG=1");
                }
            }
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Stops the probes (before the broker stops, so that none goes into a closing broker).</summary>
    public async ValueTask DisposeAsync()
    {
        _ticker?.Remove(_tick); // returns once a tick under way has ended
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}

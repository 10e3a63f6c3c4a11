using IoTPE.Broker;

namespace IoTPE.Edge.Hosting;

/// <summary>
/// Feeds systemd's watchdog (<c>WatchdogSec=</c>) only while the broker works: every half period
/// its own in-process session rewrites its stored record through the broker
/// (<see cref="InternalClient.ProbeStoreAsync"/>), and <c>WATCHDOG=1</c> goes out once the store
/// has committed it. A deadlocked broker or a store that no longer commits stops the pings, and
/// systemd restarts the service.
/// </summary>
internal sealed class BrokerWatchdog : IAsyncDisposable
{
    /// <summary>The in-process session the probes go through.</summary>
    public const string ClientId = "$iotpe/watchdog";

    private readonly TimeSpan _period;
    private readonly CancellationTokenSource _stopping = new();
    private readonly InternalClient _client;
    private readonly Task _loop;

    private BrokerWatchdog(Broker.Broker broker, TimeSpan period)
    {
        _period = period;
        // The session subscribes to nothing, so nothing is ever delivered to it.
        _client = broker.ConnectInternalClient(ClientId, maxInFlight: 1, _ => { });
        _loop = RunAsync();
    }

    /// <summary>Starts feeding the watchdog if systemd expects it (<c>WATCHDOG_USEC</c>); null otherwise.</summary>
    public static BrokerWatchdog? StartIfExpected(Broker.Broker broker)
    {
        TimeSpan? timeout = SystemdNotifier.WatchdogTimeout;
        return timeout is null ? null : new BrokerWatchdog(broker, timeout.Value / 2); // half, as sd_watchdog_enabled(3) advises
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
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}

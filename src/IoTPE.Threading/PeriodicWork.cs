namespace IoTPE.Threading;

/// <summary>
/// Short work run once a period: on the process's <see cref="Ticker"/> when there is one, in the one
/// wake-up the rest of its periodic work shares, otherwise on a .NET timer of its own, which reads
/// the given <see cref="TimeProvider"/> (so that tests can drive it with a fake clock).
/// </summary>
public sealed class PeriodicWork : IAsyncDisposable
{
    private readonly Action _work;
    private readonly Ticker? _ticker;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _timerLoop = Task.CompletedTask;

    /// <summary>Runs <paramref name="work"/> from one period from now on.</summary>
    /// <param name="work">The work; it must be short (see <see cref="Ticker"/>).</param>
    /// <param name="ticker">The ticker to run on (its own period then applies), or null for a timer.</param>
    /// <param name="period">The timer's period.</param>
    /// <param name="time">The timer's clock.</param>
    public PeriodicWork(Action work, Ticker? ticker, TimeSpan period, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(work);
        _work = work;
        _ticker = ticker;
        if (ticker is not null)
        {
            ticker.Add(work);
        }
        else
        {
            _timerLoop = Task.Run(() => RunOnTimerAsync(period, time));
        }
    }

    private async Task RunOnTimerAsync(TimeSpan period, TimeProvider time)
    {
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                _work();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Stops the work; completes once a run under way has ended.</summary>
    public async ValueTask DisposeAsync()
    {
        _ticker?.Remove(_work);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _timerLoop.ConfigureAwait(false);
        _stopping.Dispose();
    }
}

namespace IoTPE.Threading;

/// <summary>
/// One thread that runs the process's periodic work inline, every tick at the same moment: the
/// broker's housekeeping and the engine's store polls wake the process once a second together.
/// </summary>
/// <remarks>
/// A .NET timer costs about four wake-ups per tick under NativeAOT (strace of an idle iotpe,
/// issue 14): the timer thread queues the callback to the thread pool, the worker it wakes asks for
/// another worker, which finds nothing, and the timer thread is woken back. Three one-second timers
/// made an idle gateway wake ~28 times a second (Mosquitto: ~10). Here a tick is one wake-up of one
/// thread. The work must be short: a slow tick delays the others (and itself: ticks that fall due
/// while one runs are not made up).
/// </remarks>
public sealed class Ticker : IDisposable
{
    private readonly TimeSpan _period;
    private readonly Action<Exception> _failed;
    private readonly WakeSignal _stop = new();
    private readonly Thread _thread;
    // Held while ticks run, so that Remove returns only when the removed work no longer runs.
    private readonly Lock _running = new();
    private Action[] _work = [];
    private volatile bool _stopping;

    /// <summary>Starts the thread; it ticks every <paramref name="period"/>, the first time one period from now.</summary>
    /// <param name="name">The thread's name (seen in <c>top -H</c>).</param>
    /// <param name="period">Time between two ticks.</param>
    /// <param name="failed">Told of an exception a tick's work threw; the ticks go on.</param>
    public Ticker(string name, TimeSpan period, Action<Exception> failed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(failed);
        _period = period;
        _failed = failed;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Time between two ticks.</summary>
    public TimeSpan Period => _period;

    /// <summary>Runs <paramref name="work"/> at every tick from the next one on.</summary>
    public void Add(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        lock (_running)
        {
            _work = [.. _work, work];
        }
    }

    /// <summary>
    /// Stops running <paramref name="work"/>. Returns once it is not running (at once when called
    /// from the work itself).
    /// </summary>
    public void Remove(Action work)
    {
        lock (_running)
        {
            _work = [.. _work.Where(w => !ReferenceEquals(w, work))];
        }
    }

    private void Run()
    {
        long next = Environment.TickCount64 + (long)_period.TotalMilliseconds;
        while (!_stopping)
        {
            long wait = next - Environment.TickCount64;
            if (wait > 0 && _stop.Wait(TimeSpan.FromMilliseconds(wait)))
            {
                continue; // stopping
            }
            lock (_running)
            {
                foreach (Action work in _work)
                {
                    try
                    {
                        work();
                    }
                    catch (Exception e)
                    {
                        _failed(e);
                    }
                }
            }
            // The next tick is one period after this one was due, not after it ended; one that fell
            // due while this ran is skipped.
            next += (long)_period.TotalMilliseconds;
            long now = Environment.TickCount64;
            if (next <= now)
            {
                next = now + (long)_period.TotalMilliseconds;
            }
        }
    }

    /// <summary>Stops the thread after the tick that runs now, if any.</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }
        _stopping = true;
        _stop.Set();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
        _stop.Dispose();
    }
}

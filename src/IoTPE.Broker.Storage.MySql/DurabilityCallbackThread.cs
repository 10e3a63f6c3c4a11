using IoTPE.Threading;

namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// Runs the writer's <c>WhenDurable</c> callbacks on a thread of their own, one batch's outcome
/// after the other in the order they were posted, so that the writer sends the next batch to the
/// server while the broker acts on the last one's (acknowledges publishes, releases deliveries).
/// </summary>
/// <remarks>
/// On the central the writer is what bounds the durable rate: measured at saturation, a quarter of its
/// time went to running callbacks while the server sat idle between two transactions. The writer
/// posts a batch's outcomes after its COMMIT returned and goes on; it waits only when the previous
/// batch's outcomes have not been taken up yet, so at most two batches' callbacks are outstanding and
/// a slow broker slows the writer down instead of growing a queue. Each side wakes the other with a
/// <see cref="WakeSignal"/> set after it left the lock, so a hand-off costs one context switch.
/// </remarks>
internal sealed class DurabilityCallbackThread
{
    private readonly Lock _gate = new();
    private readonly WakeSignal _handedOverSignal = new(); // the thread sleeps on it: a batch waits
    private readonly WakeSignal _takenSignal = new(); // the writer sleeps on it: the slot is free again
    private readonly ThrottledFailureLog _failures;
    private readonly Thread _thread;
    private List<(Action<bool> Callback, bool Durable)> _posted = [];
    private List<(Action<bool> Callback, bool Durable)> _running = [];
    private bool _handedOver;
    private bool _stopRequested;

    /// <summary>Starts the thread; failures of callbacks go to <paramref name="log"/>, at most one a second.</summary>
    public DurabilityCallbackThread(Action<string> log)
    {
        _failures = new ThrottledFailureLog(log, TimeSpan.FromSeconds(1));
        _thread = new Thread(Run) { Name = "IoTPE MySQL callbacks", IsBackground = true };
        _thread.Start();
    }

    /// <summary>True when the caller is this thread, i.e. inside a callback.</summary>
    public bool IsCurrentThread => Thread.CurrentThread == _thread;

    /// <summary>Adds an outcome to the batch being collected; <see cref="HandOver"/> passes the batch on.</summary>
    /// <remarks>Only the writer thread calls this, between two hand-overs, so no lock is needed.</remarks>
    public void Add(Action<bool> callback, bool durable) => _posted.Add((callback, durable));

    /// <summary>
    /// Passes what <see cref="Add"/> collected to the thread, after waiting for the thread to take up
    /// the previous hand-over.
    /// </summary>
    public void HandOver()
    {
        if (_posted.Count == 0)
        {
            return;
        }
        while (true)
        {
            lock (_gate)
            {
                if (!_handedOver)
                {
                    (_posted, _running) = (_running, _posted);
                    _handedOver = true;
                    break;
                }
            }
            _takenSignal.Wait();
        }
        _handedOverSignal.Set();
    }

    /// <summary>Lets the thread run what was handed over, then end; returns when it has.</summary>
    /// <remarks>Called by the writer thread as it stops, after its last <see cref="HandOver"/>.</remarks>
    public void Stop()
    {
        lock (_gate)
        {
            _stopRequested = true;
        }
        _handedOverSignal.Set();
        _thread.Join();
        _handedOverSignal.Dispose();
        _takenSignal.Dispose();
    }

    private void Run()
    {
        List<(Action<bool> Callback, bool Durable)> batch = [];
        while (true)
        {
            bool took;
            bool stopping;
            lock (_gate)
            {
                took = _handedOver;
                stopping = _stopRequested;
                if (took)
                {
                    (_running, batch) = (batch, _running);
                    _handedOver = false;
                }
            }
            if (!took)
            {
                if (stopping)
                {
                    return;
                }
                _handedOverSignal.Wait();
                continue;
            }
            _takenSignal.Set(); // the writer may be waiting to hand over the next batch
            foreach ((Action<bool> callback, bool durable) in batch)
            {
                try
                {
                    callback(durable);
                }
                catch (Exception exception)
                {
                    _failures.Report($"MySQL broker store: a WhenDurable callback threw {exception.GetType().Name}: {exception.Message}");
                }
            }
            batch.Clear();
        }
    }
}

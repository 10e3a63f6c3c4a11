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
/// a slow broker slows the writer down instead of growing a queue.
/// </remarks>
internal sealed class DurabilityCallbackThread
{
    private readonly object _gate = new();
    private readonly ThrottledFailureLog _failures;
    private readonly Thread _thread;
    private List<(Action<bool> Callback, bool Durable)> _posted = [];
    private List<(Action<bool> Callback, bool Durable)> _running = [];
    private bool _handedOver;
    private bool _stopRequested;
    private bool _threadWaiting;

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
        lock (_gate)
        {
            while (_handedOver)
            {
                Monitor.Wait(_gate);
            }
            (_posted, _running) = (_running, _posted);
            _handedOver = true;
            if (_threadWaiting)
            {
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>Lets the thread run what was handed over, then end; returns when it has.</summary>
    /// <remarks>Called by the writer thread as it stops, after its last <see cref="HandOver"/>.</remarks>
    public void Stop()
    {
        lock (_gate)
        {
            _stopRequested = true;
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
    }

    private void Run()
    {
        List<(Action<bool> Callback, bool Durable)> batch = [];
        while (true)
        {
            lock (_gate)
            {
                while (!_handedOver && !_stopRequested)
                {
                    _threadWaiting = true;
                    Monitor.Wait(_gate);
                    _threadWaiting = false;
                }
                if (!_handedOver)
                {
                    return;
                }
                (_running, batch) = (batch, _running);
                _handedOver = false;
                // The writer may be waiting to hand over the next batch.
                Monitor.PulseAll(_gate);
            }
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

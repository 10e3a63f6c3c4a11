using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// Runs scheduled scripts every N seconds (for polling local sensors), never overlapping: when a
/// run is still going at the next tick, that tick is skipped. Results and errors go to
/// <c>/&lt;account&gt;/run/&lt;name&gt;/result</c> and <c>/error</c> like any run's.
/// </summary>
internal sealed class ScriptScheduler : IAsyncDisposable
{
    // How soon schedules that could not be read are read again.
    private static readonly TimeSpan ReloadRetry = TimeSpan.FromSeconds(1);

    private readonly ScriptServices _services;
    private readonly ScriptRuntime _runtime;
    private readonly ScriptCatalog _catalog;
    private readonly RunOutcomePublisher _outcomes;
    private readonly TimeProvider _time;
    private readonly Dictionary<(string Account, string Name), Entry> _entries = [];
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    // Completed when the schedules changed since the loop last read them (so at first too); the
    // loop replaces it before it reads them, so a change during the read completes the new one.
    private TaskCompletionSource _changed = NewSignal(completed: true);

    public ScriptScheduler(ScriptServices services, ScriptRuntime runtime, ScriptCatalog catalog, RunOutcomePublisher outcomes, TimeProvider time)
    {
        _services = services;
        _runtime = runtime;
        _catalog = catalog;
        _outcomes = outcomes;
        _time = time;
        catalog.Changed += OnCatalogChanged;
    }

    public void Start() => _loop = Task.Run(LoopAsync);

    private static TaskCompletionSource NewSignal(bool completed = false)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            signal.SetResult();
        }
        return signal;
    }

    private void OnCatalogChanged() => Volatile.Read(ref _changed).TrySetResult();

    // The loop sleeps until the next scheduled run is due or the schedules change: a gateway with
    // nothing scheduled never wakes for the scheduler (it polled 4 times a second before).
    private async Task LoopAsync()
    {
        bool retryReload = false;
        while (!_stopping.IsCancellationRequested)
        {
            TaskCompletionSource changed = Volatile.Read(ref _changed);
            TimeSpan wait = Timeout.InfiniteTimeSpan;
            if (changed.Task.IsCompleted || retryReload)
            {
                if (changed.Task.IsCompleted)
                {
                    changed = NewSignal();
                    Interlocked.Exchange(ref _changed, changed);
                }
                try
                {
                    Reload();
                    retryReload = false;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    _services.Log.StoreReadFailed(e);
                    retryReload = true;
                    wait = ReloadRetry;
                }
            }
            TimeSpan untilDue = StartDueRuns();
            if (wait == Timeout.InfiniteTimeSpan || (untilDue != Timeout.InfiniteTimeSpan && untilDue < wait))
            {
                wait = untilDue;
            }
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            await Task.WhenAny(Task.Delay(wait, _time, wake.Token), changed.Task).ConfigureAwait(false);
            await wake.CancelAsync().ConfigureAwait(false); // the delay's timer goes with it
        }
    }

    // Starts every run that is due; returns the time until the next one is (infinite: none scheduled).
    private TimeSpan StartDueRuns()
    {
        long now = _time.GetTimestamp();
        TimeSpan next = Timeout.InfiniteTimeSpan;
        foreach (((string account, string name), Entry entry) in _entries)
        {
            TimeSpan every = TimeSpan.FromSeconds(entry.EverySeconds);
            TimeSpan elapsed = _time.GetElapsedTime(entry.LastStart, now);
            if (elapsed >= every)
            {
                if (entry.Running)
                {
                    // The previous run is still going at this tick: the tick is skipped, never overlapped.
                    long skipped = elapsed.Ticks / every.Ticks;
                    entry.LastStart += (long)(skipped * every.TotalSeconds * _time.TimestampFrequency);
                }
                else
                {
                    entry.LastStart = now;
                    try
                    {
                        StartRun(account, name, entry);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        entry.Running = false;
                        _services.Log.StoreReadFailed(e);
                    }
                }
                elapsed = _time.GetElapsedTime(entry.LastStart, now);
            }
            TimeSpan untilDue = every - elapsed;
            if (next == Timeout.InfiniteTimeSpan || untilDue < next)
            {
                next = untilDue;
            }
        }
        return next;
    }

    private void Reload()
    {
        var current = _catalog.Store.Schedules().ToDictionary(s => (s.Account, s.Name));
        foreach ((string, string) gone in _entries.Keys.Where(k => !current.ContainsKey(k)).ToList())
        {
            _entries.Remove(gone);
        }
        foreach (ScriptSchedule schedule in current.Values)
        {
            if (_entries.TryGetValue((schedule.Account, schedule.Name), out Entry? entry))
            {
                entry.EverySeconds = schedule.EverySeconds;
            }
            else
            {
                _entries.Add((schedule.Account, schedule.Name), new Entry { EverySeconds = schedule.EverySeconds, LastStart = _time.GetTimestamp() });
            }
        }
    }

    private void StartRun(string account, string name, Entry entry)
    {
        string topic = "/" + account + "/run/" + name;
        if (!_services.Accounts.Exists(account) || _catalog.Latest(account, name) is not { } script)
        {
            return;
        }
        entry.Running = true;
        byte[] message = ScriptMessage.ForSchedule(account, name, entry.EverySeconds);
        Task<ScriptRunResult> run = _runtime.RunAsync(account, script.RuntimeKey, new ScriptSource(script.Name, script.Text), message,
            new AccountScriptHost(_services, account, name), _stopping.Token);
        _ = run.ContinueWith(t =>
        {
            entry.Running = false;
            if (t.IsCompletedSuccessfully)
            {
                _outcomes.Publish(new RunRequest(topic, null, account, name, script.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)), t.Result);
            }
        }, TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        _stopping.Dispose();
    }

    private sealed class Entry
    {
        public int EverySeconds { get; set; }

        public long LastStart { get; set; }

        public volatile bool Running;
    }
}

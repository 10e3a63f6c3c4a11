using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// Runs scheduled scripts every N seconds (for polling local sensors), never overlapping: when a
/// run is still going at the next tick, that tick is skipped. Results and errors go to
/// <c>/&lt;account&gt;/run/&lt;name&gt;/result</c> and <c>/error</c> like any run's.
/// </summary>
internal sealed class ScriptScheduler : IAsyncDisposable
{
    private readonly ScriptServices _services;
    private readonly ScriptRuntime _runtime;
    private readonly ScriptCatalog _catalog;
    private readonly RunOutcomePublisher _outcomes;
    private readonly TimeProvider _time;
    private readonly Dictionary<(string Account, string Name), Entry> _entries = [];
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private volatile bool _reload = true;

    public ScriptScheduler(ScriptServices services, ScriptRuntime runtime, ScriptCatalog catalog, RunOutcomePublisher outcomes, TimeProvider time)
    {
        _services = services;
        _runtime = runtime;
        _catalog = catalog;
        _outcomes = outcomes;
        _time = time;
        catalog.Changed += () => _reload = true;
    }

    public void Start() => _loop = Task.Run(LoopAsync);

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (_reload)
                {
                    _reload = false;
                    try
                    {
                        Reload();
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        _services.Log.StoreReadFailed(e);
                        _reload = true; // try again at the next tick
                    }
                }
                long now = _time.GetTimestamp();
                foreach (((string account, string name), Entry entry) in _entries)
                {
                    if (_time.GetElapsedTime(entry.LastStart, now) < TimeSpan.FromSeconds(entry.EverySeconds) || entry.Running)
                    {
                        continue; // not due, or the previous run is still going: no overlap
                    }
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
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
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

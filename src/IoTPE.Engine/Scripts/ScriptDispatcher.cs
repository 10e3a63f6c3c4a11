using System.Threading.Channels;
using IoTPE.Broker;
using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// Runs scripts for the messages of the seed's run topics, which reach it through the engine's
/// durable internal session (so a message is acknowledged to its publisher once it is queued on
/// disk for the run, and a crash during the run means it runs again after the restart):
/// <list type="bullet">
/// <item><c>/&lt;account&gt;/run/&lt;name&gt;</c> runs the newest version of the stored script <c>name</c>;</item>
/// <item><c>/&lt;account&gt;/runfile/&lt;name&gt;</c> runs <c>&lt;scripts&gt;/&lt;account&gt;/&lt;name&gt;.js</c>;</item>
/// <item><c>/&lt;account&gt;/cmd/&lt;name&gt;</c> serves a command call with the stored script <c>name</c>: its
/// return value resolves the call, a failure rejects it, <c>/cancel</c> cancels it (docs/commands.md).</item>
/// </list>
/// Only the account, or accounts it granted publishing on the topic, get a message there: the
/// broker's authorization sees to that. Runs of one account happen in order; accounts run in parallel.
/// Each account has its own queue here (bounded: <see cref="EngineOptions.MaxQueuedRunsPerAccount"/>,
/// checked when a request is published) and its own share of the script workers
/// (<see cref="EngineOptions.MaxRunsInFlightPerAccount"/>), so a busy or spinning account does not
/// hold up another account's runs.
/// </summary>
internal sealed class ScriptDispatcher : IAsyncDisposable
{
    /// <summary>The subscriptions of the engine's internal session.</summary>
    public static readonly string[] TopicFilters = ["/+/run/+", "/+/runfile/+", "/+/cmd/+", "/+/cmd/+/cancel"];

    private const int MaxDispatchAttempts = 5;

    private readonly ScriptServices _services;
    private readonly ScriptRuntime _runtime;
    private readonly ScriptCatalog _catalog;
    private readonly ScriptFiles _files;
    private readonly RunOutcomePublisher _outcomes;
    private readonly RunQueueCounts _counts;
    private readonly IRunAttemptStore? _attempts;
    private readonly int _maxRunningPerAccount;
    private readonly Channel<DispatchWork> _work = Channel.CreateUnbounded<DispatchWork>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private InternalClient? _client;
    private Task? _loop;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CancellationTokenSource> _calls = new(StringComparer.Ordinal);
    private int _running;

    // Guards the account queues, the recovery slot and the accounts waiting for it.
    private readonly Lock _sync = new();
    private readonly Dictionary<string, AccountRunQueue> _accounts = new(StringComparer.Ordinal);

    // Requests recovered after the process stopped without finishing them run one at a time,
    // engine-wide, each after a durable mark of its start: if the process dies during one, that
    // one is the suspect, and a second death during it quarantines it (see IRunAttemptStore).
    private bool _recoveryRunning;
    private readonly List<AccountRunQueue> _awaitingRecovery = [];
    private readonly List<long> _recoveredAtStart = [];
    private volatile bool _started;

    public ScriptDispatcher(ScriptServices services, ScriptRuntime runtime, ScriptCatalog catalog, ScriptFiles files, RunOutcomePublisher outcomes,
        RunQueueCounts counts, IRunAttemptStore? attempts = null)
    {
        _services = services;
        _runtime = runtime;
        _catalog = catalog;
        _files = files;
        _outcomes = outcomes;
        _counts = counts;
        _attempts = attempts;
        _maxRunningPerAccount = services.Options.MaxRunsInFlightPerAccount;
    }

    /// <summary>Called by the broker for each delivery, under its lock: queue only.</summary>
    public void OnDelivery(InternalDelivery delivery)
    {
        string topic = delivery.Message.Topic;
        if (IsCancel(topic))
        {
            // Not behind the account's queued runs: a cancel must reach a call that is waiting.
            _work.Writer.TryWrite(new DispatchWork(null, delivery));
            return;
        }
        if (!_started && IsRecovered(delivery))
        {
            _recoveredAtStart.Add(delivery.StoreId);
        }
        string account = AccountOf(topic);
        _counts.Add(account);
        lock (_sync)
        {
            if (!_accounts.TryGetValue(account, out AccountRunQueue? queue))
            {
                queue = new AccountRunQueue(account);
                _accounts.Add(account, queue);
            }
            queue.Waiting.Enqueue(delivery);
            Schedule(queue);
        }
    }

    /// <summary>Requests of an account that are queued or running (for tests and the log).</summary>
    public int QueuedRuns(string account)
    {
        lock (_sync)
        {
            return _accounts.TryGetValue(account, out AccountRunQueue? queue) ? queue.Waiting.Count + queue.Running : 0;
        }
    }

    public void Start(InternalClient client)
    {
        _client = client;
        if (_attempts is not null)
        {
            try
            {
                // Marks of requests no longer queued are stale (their message ids may be reused).
                _attempts.ForgetAllExcept(_recoveredAtStart);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _services.Log.RunAttemptNotRecorded("(start-up)", e);
            }
        }
        _started = true;
        foreach (string filter in TopicFilters)
        {
            client.Subscribe(filter);
        }
        _loop = Task.Run(LoopAsync);
    }

    private bool IsRecovered(InternalDelivery delivery) => _attempts is not null && delivery.Redelivered && delivery.StoreId != 0;

    private static bool IsCancel(string topic) => topic.EndsWith("/cancel", StringComparison.Ordinal) && topic.Split('/') is ["", _, "cmd", _, "cancel"];

    // Under _sync.
    private void Schedule(AccountRunQueue queue)
    {
        if (!queue.Scheduled)
        {
            queue.Scheduled = true;
            _work.Writer.TryWrite(new DispatchWork(queue, null));
        }
    }

    private async Task LoopAsync()
    {
        await foreach (DispatchWork work in _work.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (work.Cancel is { } cancel)
            {
                string[] levels = cancel.Message.Topic.Split('/');
                Cancel(levels[1], levels[3], cancel.Message);
                _client!.Acknowledge(cancel);
                continue;
            }
            Pump(work.Queue!);
        }
    }

    /// <summary>
    /// Hands the account's waiting requests to the script workers, oldest first, while the
    /// account's share (<see cref="EngineOptions.MaxRunsInFlightPerAccount"/>) has room: a busy
    /// account cannot fill the workers' queue ahead of the others.
    /// </summary>
    private void Pump(AccountRunQueue queue)
    {
        lock (_sync)
        {
            queue.Scheduled = false;
        }
        while (true)
        {
            InternalDelivery head;
            bool recovered;
            lock (_sync)
            {
                if (queue.RetryPending || queue.RecoveredRunning || queue.Waiting.Count == 0)
                {
                    RemoveIfIdle(queue);
                    return;
                }
                head = queue.Waiting.Peek();
                recovered = IsRecovered(head);
                if (recovered)
                {
                    if (queue.Running > 0)
                    {
                        return; // the account's last run ending schedules it again
                    }
                    if (_recoveryRunning)
                    {
                        if (!_awaitingRecovery.Contains(queue))
                        {
                            _awaitingRecovery.Add(queue);
                        }
                        return;
                    }
                    _recoveryRunning = true;
                    queue.RecoveredRunning = true;
                }
                else if (queue.Running >= _maxRunningPerAccount)
                {
                    return;
                }
                queue.Running++;
            }
            bool started;
            try
            {
                started = Dispatch(queue, head, recovered);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                RunEnded(queue, recovered, schedule: false);
                int attempt;
                lock (_sync)
                {
                    attempt = ++queue.HeadFailures;
                }
                _services.Log.DispatchFailed(head.Message.Topic, attempt, e);
                if (attempt >= MaxDispatchAttempts)
                {
                    ReportUndispatchable(head.Message, e);
                    lock (_sync)
                    {
                        queue.Waiting.Dequeue();
                        queue.HeadFailures = 0;
                    }
                    Acknowledge(head);
                    continue;
                }
                lock (_sync)
                {
                    queue.RetryPending = true;
                }
                // Tried again shortly (the engine database locked or unreadable for a moment); the
                // account's later requests wait behind it, so its runs keep their order.
                _ = Task.Delay(TimeSpan.FromSeconds(attempt)).ContinueWith(_ =>
                {
                    lock (_sync)
                    {
                        queue.RetryPending = false;
                        Schedule(queue);
                    }
                }, TaskScheduler.Default);
                return;
            }
            lock (_sync)
            {
                queue.Waiting.Dequeue();
                queue.HeadFailures = 0;
            }
            if (!started)
            {
                RunEnded(queue, recovered, schedule: false);
            }
        }
    }

    // A run handed over by Pump ended (or never started): the account's share has room again.
    private void RunEnded(AccountRunQueue queue, bool recovered, bool schedule)
    {
        lock (_sync)
        {
            queue.Running--;
            if (recovered)
            {
                queue.RecoveredRunning = false;
                _recoveryRunning = false;
                foreach (AccountRunQueue waiting in _awaitingRecovery)
                {
                    Schedule(waiting);
                }
                _awaitingRecovery.Clear();
            }
            if (schedule)
            {
                Schedule(queue);
            }
        }
    }

    // Under _sync. An account with nothing queued or running leaves the table.
    private void RemoveIfIdle(AccountRunQueue queue)
    {
        if (queue.IsIdle && !queue.RecoveredRunning && _accounts.TryGetValue(queue.Account, out AccountRunQueue? current) && ReferenceEquals(current, queue))
        {
            _accounts.Remove(queue.Account);
        }
    }

    // The request leaves the engine's durable queue, and its account's count.
    private void Acknowledge(InternalDelivery delivery)
    {
        _client!.Acknowledge(delivery);
        _counts.Remove(AccountOf(delivery.Message.Topic));
        if (IsRecovered(delivery))
        {
            try
            {
                _attempts!.MarkFinished(delivery.StoreId);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _services.Log.RunAttemptNotRecorded(delivery.Message.Topic, e);
            }
        }
    }

    // A recovered request's start is noted durably before it runs; one whose start was noted
    // before (the process died while it ran, after having died once with it queued) is quarantined.
    private bool MayRun(InternalDelivery delivery, string account, string name, CommandCall? call)
    {
        if (!IsRecovered(delivery) || _attempts!.MarkStarted(delivery.StoreId) == 0)
        {
            return true;
        }
        ApplicationMessage message = delivery.Message;
        _services.Log.RunQuarantined(message.Topic);
        _attempts.AddQuarantined(new QuarantinedRun(account, message.Topic, DateTimeOffset.UtcNow));
        const string text = "The request was running when the process died, twice: it is quarantined and will not run again.";
        if (call is not null)
        {
            _outcomes.PublishCommandReject(message.Topic, call.MessageId, text, "Quarantined", null);
        }
        else
        {
            _outcomes.PublishFailure(message.Topic, message, account, name, null, "Quarantined", text, null);
        }
        Acknowledge(delivery);
        return false;
    }

    // The caller learns that its request was given up, as it would of any other failed run.
    private void ReportUndispatchable(ApplicationMessage message, Exception error)
    {
        string text = "The engine could not read the script: " + error.Message;
        try
        {
            switch (message.Topic.Split('/'))
            {
                case ["", _, "cmd", _] when CommandCall.TryParse(message.Payload, out CommandCall? call, out _):
                    _outcomes.PublishCommandReject(message.Topic, call!.MessageId, text, "InternalError", null);
                    break;
                case ["", var account, "run" or "runfile", var name]:
                    _outcomes.PublishFailure(message.Topic, message, account, name, null, "InternalError", text, null);
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _services.Log.DispatchFailed(message.Topic, MaxDispatchAttempts, e);
        }
    }

    private static string AccountOf(string topic)
    {
        // "/<account>/..." : anything else has no account and is refused by Dispatch.
        int end = topic.Length > 1 && topic[0] == '/' ? topic.IndexOf('/', 1) : -1;
        return end > 1 ? topic[1..end] : "";
    }

    /// <summary>Work for the dispatch loop: an account to pump, or a cancel to apply at once.</summary>
    private readonly record struct DispatchWork(AccountRunQueue? Queue, InternalDelivery? Cancel);

    /// <summary>
    /// Dispatches one request: returns true when a run started (its end is reported to
    /// <see cref="RunEnded"/>), false when the request was answered at once (acknowledged).
    /// Throws when reading what it needs fails; the caller tries again.
    /// </summary>
    private bool Dispatch(AccountRunQueue queue, InternalDelivery delivery, bool recovered)
    {
        ApplicationMessage message = delivery.Message;
        string[] levels = message.Topic.Split('/');
        if (levels.Length != 4 || levels[0].Length != 0)
        {
            Acknowledge(delivery);
            return false;
        }
        string account = levels[1], kind = levels[2], name = levels[3];
        if (!_services.Accounts.Exists(account))
        {
            Acknowledge(delivery); // nobody's namespace: nothing to run
            return false;
        }
        if (kind == "cmd")
        {
            return DispatchCommand(queue, delivery, account, name, recovered);
        }
        string key;
        ScriptSource source;
        string? version;
        if (kind == "run")
        {
            StoredScript? script = ScriptName.IsValid(name, out _) ? _catalog.Latest(account, name) : null;
            if (script is null)
            {
                _outcomes.PublishFailure(message.Topic, message, account, name, null, "NotFound", $"account {account} has no stored script '{name}'", null);
                Acknowledge(delivery);
                return false;
            }
            key = script.RuntimeKey;
            source = new ScriptSource(script.Name, script.Text);
            version = script.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            if (_files.Read(account, name, out string? problem) is not { } file)
            {
                _outcomes.PublishFailure(message.Topic, message, account, name, null, "NotFound", problem!, null);
                Acknowledge(delivery);
                return false;
            }
            key = "file:" + name + "@" + file.Version;
            source = new ScriptSource(name + ".js", file.Text);
            version = file.Version;
        }
        if (!MayRun(delivery, account, name, call: null))
        {
            return false;
        }
        byte[] json = ScriptMessage.FromMessage(message, account, name);
        var host = new AccountScriptHost(_services, account, name, RunHops.Of(message));
        Interlocked.Increment(ref _running);
        Task<ScriptRunResult> run = _runtime.RunAsync(account, key, source, json, host, _stopping.Token);
        queue.LastOutcome = FinishAsync(queue, recovered, delivery, run, queue.LastOutcome, account, name, version);
        return true;
    }

    private bool DispatchCommand(AccountRunQueue queue, InternalDelivery delivery, string account, string name, bool recovered)
    {
        ApplicationMessage message = delivery.Message;
        if (!CommandCall.TryParse(message.Payload, out CommandCall? call, out string? problem))
        {
            _outcomes.PublishFailure(message.Topic, message, account, name, null, "InvalidCall", problem!, null);
            Acknowledge(delivery);
            return false;
        }
        StoredScript? script = ScriptName.IsValid(name, out _) ? _catalog.Latest(account, name) : null;
        if (script is null)
        {
            _outcomes.PublishCommandReject(message.Topic, call!.MessageId, $"account {account} has no stored script '{name}'", "NotFound", null);
            Acknowledge(delivery);
            return false;
        }
        if (!MayRun(delivery, account, name, call))
        {
            return false;
        }
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        string callKey = CallKey(account, name, call!.MessageId);
        _calls[callKey] = cancellation;
        byte[] json = ScriptMessage.FromMessage(message, account, name, call);
        Interlocked.Increment(ref _running);
        Task<ScriptRunResult> run = _runtime.RunAsync(account, script.RuntimeKey, new ScriptSource(script.Name, script.Text), json,
            new AccountScriptHost(_services, account, name, RunHops.Of(message)), cancellation.Token);
        queue.LastOutcome = FinishCommandAsync(queue, recovered, delivery, run, queue.LastOutcome, account, name, call, callKey, cancellation);
        return true;
    }

    private async Task FinishCommandAsync(AccountRunQueue queue, bool recovered, InternalDelivery delivery, Task<ScriptRunResult> run, Task previous,
        string account, string name, CommandCall call, string callKey, CancellationTokenSource cancellation)
    {
        try
        {
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            ScriptRunResult result = await run.ConfigureAwait(false);
            _outcomes.PublishCommandOutcome(delivery.Message.Topic, call.MessageId, name, result);
            Acknowledge(delivery);
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            // Cancelled by the caller (queued: it never ran; running: interrupted).
            _outcomes.PublishCommandReject(delivery.Message.Topic, call.MessageId, "The call was cancelled.", "cancelled", null);
            Acknowledge(delivery);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: not acknowledged, so the call runs after the restart.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The runtime itself failed (not the script): the caller learns it, the engine goes on.
            _services.Log.ScriptHostFailed(account, name, e.Message);
            _outcomes.PublishCommandReject(delivery.Message.Topic, call.MessageId, "The engine could not run the script: " + e.Message, "InternalError", null);
            Acknowledge(delivery);
        }
        finally
        {
            _calls.TryRemove(callKey, out _);
            cancellation.Dispose();
            Interlocked.Decrement(ref _running);
            RunEnded(queue, recovered, schedule: true);
        }
    }

    private void Cancel(string account, string name, ApplicationMessage message)
    {
        if (CommandCall.TryParse(message.Payload, out CommandCall? call, out _) &&
            _calls.TryGetValue(CallKey(account, name, call!.MessageId), out CancellationTokenSource? cancellation))
        {
            try
            {
                cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The run finished meanwhile.
            }
        }
    }

    private static string CallKey(string account, string name, string messageId) => account + "/" + name + "/" + messageId;

    private async Task FinishAsync(AccountRunQueue queue, bool recovered, InternalDelivery delivery, Task<ScriptRunResult> run, Task previous,
        string account, string name, string? version)
    {
        try
        {
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            ScriptRunResult result = await run.ConfigureAwait(false);
            if (result.HostException is { } hostError)
            {
                _services.Log.ScriptHostFailed(account, name, hostError.Message);
            }
            _outcomes.Publish(delivery.Message.Topic, delivery.Message, account, name, version, result);
            Acknowledge(delivery);
        }
        catch (OperationCanceledException)
        {
            // Shutting down: not acknowledged, so the message runs again after the restart.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The runtime itself failed (not the script): reported on the error topic, the engine goes on.
            _services.Log.ScriptHostFailed(account, name, e.Message);
            _outcomes.PublishFailure(delivery.Message.Topic, delivery.Message, account, name, version, "InternalError", "The engine could not run the script: " + e.Message, null);
            Acknowledge(delivery);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            RunEnded(queue, recovered, schedule: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _work.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        for (int i = 0; i < 100 && Volatile.Read(ref _running) > 0; i++)
        {
            await Task.Delay(20).ConfigureAwait(false);
        }
        if (_attempts is not null && _started)
        {
            try
            {
                // A clean stop: the runs it interrupted did not crash the process.
                _attempts.ForgetAllExcept([]);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _services.Log.RunAttemptNotRecorded("(shutdown)", e);
            }
        }
        _stopping.Dispose();
    }
}

using System.Collections.Concurrent;
using System.Threading.Channels;
using IoTPE.Broker;
using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// Runs scripts for the messages of the seed's run topics, which reach it through the engine's
/// durable session (<see cref="IDurableSession"/>: a message is acknowledged to its publisher once it is
/// queued on disk for the run, and a crash during the run means it runs again after the restart):
/// <list type="bullet">
/// <item><c>/&lt;account&gt;/run/&lt;name&gt;</c> runs the newest version of the stored script <c>name</c>;</item>
/// <item><c>/&lt;account&gt;/runfile/&lt;name&gt;</c> runs <c>&lt;scripts&gt;/&lt;account&gt;/&lt;name&gt;.js</c>;</item>
/// <item><c>/&lt;account&gt;/cmd/&lt;name&gt;</c> serves a command call with the stored script <c>name</c>: its
/// return value resolves the call, a failure rejects it, <c>/cancel</c> cancels it (docs/commands.md).</item>
/// </list>
/// Only the account, or accounts it granted publishing on the topic, get a message there: the
/// broker's authorization sees to that. Each account has its own queue here (bounded:
/// <see cref="EngineOptions.MaxQueuedRunsPerAccount"/>, checked when a request is published) and its own
/// share of the script workers (<see cref="EngineOptions.MaxRunsInFlightPerAccount"/>), so a busy or
/// spinning account does not hold up another account's runs; accounts run in parallel.
/// <para>
/// Order: each account has exactly one consumer, a task alive while the account has requests, which does
/// dispatch → run → publish outcome → acknowledge for them. It hands requests to the script workers
/// oldest first, up to the account's share, and publishes the outcome of each run and acknowledges its
/// request in the order the requests arrived: a later run that ends first (a call cancelled while
/// queued) waits for the outcomes before it. The script workers run one account's runs one at a time
/// in the order handed over (<see cref="ScriptRuntime"/>), so a share above one only lets the next runs
/// wait in the workers' queue instead of here; runs never overlap. A request answered without running
/// (no such script, an invalid call, quarantined, given up after failed dispatches) is answered when it
/// reaches the head, which can be before the outcomes of runs still in flight ahead of it. A cancel
/// does not queue behind the account's requests: it must reach a call that is waiting.
/// </para>
/// </summary>
internal sealed class ScriptDispatcher : IAsyncDisposable
{
    /// <summary>The subscriptions of the engine's durable session.</summary>
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
    private readonly Channel<InternalDelivery> _cancels = Channel.CreateUnbounded<InternalDelivery>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _calls = new(StringComparer.Ordinal);
    private IDurableSession? _session;
    private Task? _cancelLoop;

    // Guards the account queues, the recovery slot, the accounts waiting for it and the consumer count.
    private readonly Lock _sync = new();
    private readonly Dictionary<string, AccountRunQueue> _accounts = new(StringComparer.Ordinal);
    private bool _started;
    private bool _stopped;
    private int _consumers;

    // Set by the last consumer to end once stopping: DisposeAsync awaits it.
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Requests recovered after the process stopped without finishing them run one at a time,
    // engine-wide, each after a durable mark of its start: if the process dies during one, that
    // one is the suspect, and a second death during it quarantines it (see IRunAttemptStore).
    private bool _recoveryRunning;
    private readonly List<AccountRunQueue> _awaitingRecovery = [];
    private readonly List<long> _recoveredAtStart = [];

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

    // Consumers and the cancel loop start only in Start, after the session is set.
    private IDurableSession Session => _session ?? throw new InvalidOperationException("the dispatcher is not started");

    /// <summary>Called by the broker for each delivery, in order, as the pass that sent it ends: queue only.</summary>
    public void OnDelivery(InternalDelivery delivery)
    {
        string topic = delivery.Message.Topic;
        if (EngineTopic.TryParse(topic, out EngineTopic parsed) && parsed.Kind == EngineTopicKind.CommandCancel)
        {
            // Not behind the account's queued runs: a cancel must reach a call that is waiting.
            _cancels.Writer.TryWrite(delivery);
            return;
        }
        string account = EngineTopic.AccountOf(topic);
        _counts.Add(account, delivery.Message);
        AccountRunQueue? toStart = null;
        lock (_sync)
        {
            if (!_started && IsRecovered(delivery))
            {
                _recoveredAtStart.Add(delivery.StoreId);
            }
            if (!_accounts.TryGetValue(account, out AccountRunQueue? queue))
            {
                queue = new AccountRunQueue(account);
                _accounts.Add(account, queue);
            }
            queue.Waiting.Enqueue(delivery);
            if (_started && ClaimConsumer(queue))
            {
                toStart = queue;
            }
            queue.Wake();
        }
        if (toStart is not null)
        {
            StartConsumer(toStart);
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

    /// <summary>Subscribes the engine's durable session and starts taking the requests delivered to it.</summary>
    public void Start(IDurableSession session)
    {
        _session = session;
        if (_attempts is not null)
        {
            try
            {
                // Marks of requests no longer queued are stale (their message ids may be reused).
                List<long> recovered;
                lock (_sync)
                {
                    recovered = [.. _recoveredAtStart];
                }
                _attempts.ForgetAllExcept(recovered);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _services.Log.RunAttemptNotRecorded("(start-up)", e);
            }
        }
        List<AccountRunQueue> toStart = [];
        lock (_sync)
        {
            _started = true;
            foreach (AccountRunQueue queue in _accounts.Values)
            {
                if (ClaimConsumer(queue))
                {
                    toStart.Add(queue);
                }
            }
        }
        foreach (AccountRunQueue queue in toStart)
        {
            StartConsumer(queue);
        }
        foreach (string filter in TopicFilters)
        {
            session.Subscribe(filter);
        }
        _cancelLoop = Task.Run(CancelLoopAsync);
    }

    private bool IsRecovered(InternalDelivery delivery) => _attempts is not null && delivery.Redelivered && delivery.StoreId != 0;

    // Under _sync: true when the account has no consumer and the caller must start one (StartConsumer,
    // after releasing _sync).
    private bool ClaimConsumer(AccountRunQueue queue)
    {
        if (queue.Consuming || _stopped)
        {
            return false;
        }
        queue.Consuming = true;
        _consumers++;
        return true;
    }

    // Not under _sync: the worker woken here usually runs at once on the waker's core, and the first
    // thing the consumer does is take _sync. Woken inside it, the consumer found the lock held by the
    // thread it had just preempted and spun (sched_yield, every other run at 100 runs/s).
    private void StartConsumer(AccountRunQueue queue)
    {
        // On the account's script worker, which is about to run its script: the consumer's steps
        // are short, and starting it on the thread pool woke two or three threads per request.
        _runtime.Post(queue.Account, () => _ = ConsumeAsync(queue));
    }

    /// <summary>
    /// The account's one consumer: starts its requests' runs oldest first while its share has room,
    /// publishes each outcome and acknowledges its request in request order, and ends when the account
    /// has nothing left (a later request starts a new one).
    /// </summary>
    private async Task ConsumeAsync(AccountRunQueue queue)
    {
        var started = new Queue<StartedRun>(); // handed over, outcome not published; in request order
        Task? retry = null; // the head's dispatch failed: tried again when this delay ends
        while (true)
        {
            Task wake;
            lock (_sync)
            {
                wake = queue.NextWake();
            }
            bool stopping = _stopping.IsCancellationRequested;
            if (retry is { IsCompleted: true })
            {
                retry = null;
            }
            if (!stopping && retry is null)
            {
                retry = StartRuns(queue, started);
            }
            if (started.TryPeek(out StartedRun? oldest))
            {
                if (oldest.Run.IsCompleted)
                {
                    started.Dequeue();
                    Finish(queue, oldest);
                }
                else if (stopping)
                {
                    await ((Task)oldest.Run).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // cancelled: it ends soon
                }
                else
                {
                    await Task.WhenAny(oldest.Run, wake, retry ?? wake, _stopSignal.Task).ConfigureAwait(false);
                }
                continue;
            }
            lock (_sync)
            {
                if (stopping || (retry is null && queue.Waiting.Count == 0))
                {
                    ConsumerEnded(queue);
                    return;
                }
            }
            // Waiting for the recovery slot, for the retry delay, or for the stop.
            await Task.WhenAny(wake, retry ?? wake, _stopSignal.Task).ConfigureAwait(false);
        }
    }

    // Under _sync. An account with nothing queued or running leaves the table.
    private void ConsumerEnded(AccountRunQueue queue)
    {
        queue.Consuming = false;
        if (queue.IsIdle && !queue.RecoveredRunning && _accounts.TryGetValue(queue.Account, out AccountRunQueue? current) && ReferenceEquals(current, queue))
        {
            _accounts.Remove(queue.Account);
        }
        if (--_consumers == 0 && _stopped)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>
    /// Hands the account's waiting requests to the script workers, oldest first, while the account's
    /// share (<see cref="EngineOptions.MaxRunsInFlightPerAccount"/>) has room: a busy account cannot fill
    /// the workers' queue ahead of the others. Returns the delay after which the head is tried again
    /// when its dispatch failed; the account's later requests wait behind it, so its runs keep their order.
    /// </summary>
    private Task? StartRuns(AccountRunQueue queue, Queue<StartedRun> started)
    {
        while (true)
        {
            InternalDelivery head;
            bool recovered;
            lock (_sync)
            {
                if (queue.RecoveredRunning || queue.Waiting.Count == 0)
                {
                    return null;
                }
                head = queue.Waiting.Peek();
                recovered = IsRecovered(head);
                if (recovered)
                {
                    if (queue.Running > 0)
                    {
                        return null; // the account's last outcome being published lets it start
                    }
                    if (_recoveryRunning)
                    {
                        if (!_awaitingRecovery.Contains(queue))
                        {
                            _awaitingRecovery.Add(queue);
                        }
                        return null;
                    }
                    _recoveryRunning = true;
                    queue.RecoveredRunning = true;
                }
                else if (queue.Running >= _maxRunningPerAccount)
                {
                    return null;
                }
                queue.Running++;
            }
            StartedRun? run;
            try
            {
                run = Dispatch(head);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                RunEnded(queue, recovered);
                int attempt = ++queue.HeadFailures;
                _services.Log.DispatchFailed(head.Message.Topic, attempt, e);
                if (attempt < MaxDispatchAttempts)
                {
                    // The engine database locked or unreadable for a moment: tried again shortly.
                    return Task.Delay(TimeSpan.FromSeconds(attempt), _services.Time, _stopping.Token);
                }
                ReportUndispatchable(head.Message, e);
                lock (_sync)
                {
                    queue.Waiting.Dequeue();
                }
                queue.HeadFailures = 0;
                Acknowledge(head);
                continue;
            }
            lock (_sync)
            {
                queue.Waiting.Dequeue();
            }
            queue.HeadFailures = 0;
            if (run is null)
            {
                RunEnded(queue, recovered);
            }
            else
            {
                started.Enqueue(run with { Recovered = recovered });
            }
        }
    }

    // A run handed over by StartRuns ended (or never started): the account's share has room again.
    private void RunEnded(AccountRunQueue queue, bool recovered)
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
                    waiting.Wake();
                }
                _awaitingRecovery.Clear();
            }
        }
    }

    // The request leaves the engine's durable queue, and its account's count.
    private void Acknowledge(InternalDelivery delivery)
    {
        Session.Acknowledge(delivery);
        _counts.Remove(EngineTopic.AccountOf(delivery.Message.Topic));
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
    private bool MayRun(InternalDelivery delivery, RunRequest request, CommandCall? call)
    {
        if (!IsRecovered(delivery) || _attempts!.MarkStarted(delivery.StoreId) == 0)
        {
            return true;
        }
        _services.Log.RunQuarantined(request.Topic);
        _attempts.AddQuarantined(new QuarantinedRun(request.Account, request.Topic, _services.Time.GetUtcNow()));
        var failure = new RunFailure(RunStatus.Quarantined, "The request was running when the process died, twice: it is quarantined and will not run again.");
        if (call is not null)
        {
            _outcomes.PublishCommandReject(request.Topic, call.MessageId, failure);
        }
        else
        {
            _outcomes.PublishFailure(request, failure);
        }
        Acknowledge(delivery);
        return false;
    }

    // The caller learns that its request was given up, as it would of any other failed run.
    private void ReportUndispatchable(ApplicationMessage message, Exception error)
    {
        var failure = new RunFailure(RunStatus.InternalError, "The engine could not read the script: " + error.Message);
        try
        {
            if (!EngineTopic.TryParse(message.Topic, out EngineTopic topic))
            {
                return;
            }
            switch (topic.Kind)
            {
                case EngineTopicKind.Command when CommandCall.TryParse(message.Payload, out CommandCall? call, out _):
                    _outcomes.PublishCommandReject(message.Topic, call!.MessageId, failure);
                    break;
                case EngineTopicKind.Run or EngineTopicKind.RunFile:
                    _outcomes.PublishFailure(new RunRequest(message.Topic, message, topic.Account, topic.Name!), failure);
                    break;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _services.Log.DispatchFailed(message.Topic, MaxDispatchAttempts, e);
        }
    }

    /// <summary>
    /// Dispatches one request: the run it started, or null when the request was answered at once
    /// (and acknowledged). Throws when reading what it needs fails; the caller tries again.
    /// </summary>
    private StartedRun? Dispatch(InternalDelivery delivery)
    {
        ApplicationMessage message = delivery.Message;
        if (!EngineTopic.TryParse(message.Topic, out EngineTopic topic) || topic.Kind is not (EngineTopicKind.Run or EngineTopicKind.RunFile or EngineTopicKind.Command))
        {
            Acknowledge(delivery);
            return null;
        }
        string account = topic.Account, name = topic.Name!;
        if (!_services.Accounts.Exists(account))
        {
            Acknowledge(delivery); // nobody's namespace: nothing to run
            return null;
        }
        if (topic.Kind == EngineTopicKind.Command)
        {
            return DispatchCommand(delivery, account, name);
        }
        string key;
        ScriptSource source;
        string? version;
        if (topic.Kind == EngineTopicKind.Run)
        {
            StoredScript? script = ScriptName.IsValid(name, out _) ? _catalog.Latest(account, name) : null;
            if (script is null)
            {
                _outcomes.PublishFailure(new RunRequest(message.Topic, message, account, name), new RunFailure(RunStatus.NotFound, $"account {account} has no stored script '{name}'"));
                Acknowledge(delivery);
                return null;
            }
            key = script.RuntimeKey;
            source = new ScriptSource(script.Name, script.Text);
            version = script.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            if (_files.Read(account, name, out string? problem) is not { } file)
            {
                _outcomes.PublishFailure(new RunRequest(message.Topic, message, account, name), new RunFailure(RunStatus.NotFound, problem!));
                Acknowledge(delivery);
                return null;
            }
            key = "file:" + name + "@" + file.Version;
            source = new ScriptSource(name + ".js", file.Text);
            version = file.Version;
        }
        var request = new RunRequest(message.Topic, message, account, name, version);
        if (!MayRun(delivery, request with { Version = null }, call: null))
        {
            return null;
        }
        var host = new AccountScriptHost(_services, account, name, RunHops.Of(message));
        Task<ScriptRunResult> run = _runtime.RunAsync(account, key, source, ScriptMessage.ForRun(message, account, name), host, _stopping.Token);
        return new StartedRun(delivery, request, Recovered: false, run);
    }

    private StartedRun? DispatchCommand(InternalDelivery delivery, string account, string name)
    {
        ApplicationMessage message = delivery.Message;
        var request = new RunRequest(message.Topic, message, account, name);
        if (!CommandCall.TryParse(message.Payload, out CommandCall? call, out string? problem))
        {
            _outcomes.PublishFailure(request, new RunFailure(RunStatus.InvalidCall, problem!));
            Acknowledge(delivery);
            return null;
        }
        StoredScript? script = ScriptName.IsValid(name, out _) ? _catalog.Latest(account, name) : null;
        if (script is null)
        {
            _outcomes.PublishCommandReject(message.Topic, call!.MessageId, new RunFailure(RunStatus.NotFound, $"account {account} has no stored script '{name}'"));
            Acknowledge(delivery);
            return null;
        }
        if (!MayRun(delivery, request, call))
        {
            return null;
        }
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        _calls[CallKey(account, name, call!.MessageId)] = cancellation;
        byte[] json = ScriptMessage.FromMessage(message, account, name, call);
        Task<ScriptRunResult> run = _runtime.RunAsync(account, script.RuntimeKey, new ScriptSource(script.Name, script.Text), json,
            new AccountScriptHost(_services, account, name, RunHops.Of(message)), cancellation.Token);
        return new StartedRun(delivery, request, Recovered: false, run, call, cancellation);
    }

    /// <summary>The run ended: its outcome is published and its request acknowledged, unless the engine is stopping.</summary>
    private void Finish(AccountRunQueue queue, StartedRun started)
    {
        RunRequest request = started.Request;
        try
        {
            Task<ScriptRunResult> run = started.Run;
            bool cancelled = run.IsCanceled || run.Exception?.InnerException is OperationCanceledException;
            if (cancelled && (_stopping.IsCancellationRequested || started.Call is null))
            {
                return; // shutting down: not acknowledged, so the request runs again after the restart
            }
            if (started.Call is { } call)
            {
                if (cancelled)
                {
                    // Cancelled by the caller (queued: it never ran; running: interrupted).
                    _outcomes.PublishCommandReject(request.Topic, call.MessageId, new RunFailure(RunStatus.Cancelled, Commands.CommandWireFormat.CancelledMessage));
                }
                else if (run.IsCompletedSuccessfully)
                {
                    _outcomes.PublishCommandOutcome(request, call.MessageId, run.Result);
                }
                else
                {
                    // The runtime itself failed (not the script): the caller learns it, the engine goes on.
                    string error = run.Exception!.InnerException!.Message;
                    _services.Log.ScriptHostFailed(request.Account, request.Script, error);
                    _outcomes.PublishCommandReject(request.Topic, call.MessageId, new RunFailure(RunStatus.InternalError, "The engine could not run the script: " + error));
                }
            }
            else if (run.IsCompletedSuccessfully)
            {
                if (run.Result.HostException is { } hostError)
                {
                    _services.Log.ScriptHostFailed(request.Account, request.Script, hostError.Message);
                }
                _outcomes.Publish(request, run.Result);
            }
            else
            {
                // The runtime itself failed (not the script): reported on the error topic, the engine goes on.
                string error = run.Exception!.InnerException!.Message;
                _services.Log.ScriptHostFailed(request.Account, request.Script, error);
                _outcomes.PublishFailure(request, new RunFailure(RunStatus.InternalError, "The engine could not run the script: " + error));
            }
            Acknowledge(started.Delivery);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Publishing failed (the broker stopping): not acknowledged, so it runs again after the restart.
            _services.Log.ScriptHostFailed(request.Account, request.Script, e.Message);
        }
        finally
        {
            if (started.Call is { } call && started.Cancellation is { } cancellation)
            {
                _calls.TryRemove(CallKey(request.Account, request.Script, call.MessageId), out _);
                cancellation.Dispose();
            }
            RunEnded(queue, started.Recovered);
        }
    }

    private async Task CancelLoopAsync()
    {
        await foreach (InternalDelivery cancel in _cancels.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (EngineTopic.TryParse(cancel.Message.Topic, out EngineTopic topic))
            {
                Cancel(topic.Account, topic.Name!, cancel.Message);
            }
            Session.Acknowledge(cancel);
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

    /// <summary>
    /// Stops: runs under way are cancelled and not acknowledged (they run again after the restart);
    /// completes when every account's consumer has drained, or after a run's time budget and a margin.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _cancels.Writer.TryComplete();
        bool draining;
        lock (_sync)
        {
            _stopped = true;
            draining = _consumers > 0;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        _stopSignal.TrySetResult();
        if (_cancelLoop is not null)
        {
            await _cancelLoop.ConfigureAwait(false);
        }
        if (draining)
        {
            try
            {
                // A run that ignores its cancellation still ends at its time budget.
                await _drained.Task.WaitAsync(_services.Options.Limits.RunTimeout + TimeSpan.FromSeconds(2), TimeProvider.System).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Stopping anyway: what did not finish was not acknowledged and runs again after the restart.
            }
        }
        bool started;
        lock (_sync)
        {
            started = _started;
        }
        if (_attempts is not null && started)
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

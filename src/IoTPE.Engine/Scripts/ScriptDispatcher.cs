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
/// </summary>
internal sealed class ScriptDispatcher : IAsyncDisposable
{
    /// <summary>The subscriptions of the engine's internal session.</summary>
    public static readonly string[] TopicFilters = ["/+/run/+", "/+/runfile/+", "/+/cmd/+", "/+/cmd/+/cancel"];

    private readonly ScriptServices _services;
    private readonly ScriptRuntime _runtime;
    private readonly ScriptCatalog _catalog;
    private readonly ScriptFiles _files;
    private readonly RunOutcomePublisher _outcomes;
    private readonly Channel<PendingDelivery> _deliveries = Channel.CreateUnbounded<PendingDelivery>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private InternalClient? _client;
    private Task? _loop;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CancellationTokenSource> _calls = new(StringComparer.Ordinal);
    private int _running;

    // Deliveries of an account that arrived while an earlier one of the same account waits to be
    // dispatched again, held back so that the account's runs keep the order of its requests. Used
    // by the dispatch loop only.
    private readonly Dictionary<string, Queue<InternalDelivery>> _heldBack = new(StringComparer.Ordinal);

    private const int MaxDispatchAttempts = 5;

    // The outcome of each account's latest run. The runtime runs one account's messages in order;
    // its completions resume on the thread pool, so each outcome waits for the one before it to be
    // published: results and errors of an account come out in the order of its requests. Used by
    // the dispatch loop only.
    private readonly Dictionary<string, Task> _lastOutcome = new(StringComparer.Ordinal);

    public ScriptDispatcher(ScriptServices services, ScriptRuntime runtime, ScriptCatalog catalog, ScriptFiles files, RunOutcomePublisher outcomes)
    {
        _services = services;
        _runtime = runtime;
        _catalog = catalog;
        _files = files;
        _outcomes = outcomes;
    }

    /// <summary>Called by the broker for each delivery: queue only.</summary>
    public void OnDelivery(InternalDelivery delivery) => _deliveries.Writer.TryWrite(new PendingDelivery(delivery, FailedAttempts: 0));

    public void Start(InternalClient client)
    {
        _client = client;
        foreach (string filter in TopicFilters)
        {
            client.Subscribe(filter);
        }
        _loop = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        await foreach (PendingDelivery pending in _deliveries.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            string account = AccountOf(pending.Delivery.Message.Topic);
            bool isRetry = pending.FailedAttempts > 0;
            if (!isRetry && _heldBack.TryGetValue(account, out Queue<InternalDelivery>? waiting))
            {
                waiting.Enqueue(pending.Delivery);
                continue;
            }
            if (!TryDispatch(pending))
            {
                _heldBack.TryAdd(account, new Queue<InternalDelivery>());
                continue;
            }
            if (isRetry && _heldBack.TryGetValue(account, out Queue<InternalDelivery>? held))
            {
                bool blockedAgain = false;
                while (!blockedAgain && held.TryDequeue(out InternalDelivery? next))
                {
                    blockedAgain = !TryDispatch(new PendingDelivery(next, FailedAttempts: 0));
                }
                if (!blockedAgain)
                {
                    _heldBack.Remove(account);
                }
            }
        }
    }

    /// <summary>
    /// Dispatches one delivery. When reading what it needs fails (the engine database locked or
    /// unreadable for a moment), it is tried again shortly and false is returned; after
    /// <see cref="MaxDispatchAttempts"/> the failure is reported and the message let go.
    /// </summary>
    private bool TryDispatch(PendingDelivery pending)
    {
        try
        {
            Dispatch(pending.Delivery);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            int attempt = pending.FailedAttempts + 1;
            _services.Log.DispatchFailed(pending.Delivery.Message.Topic, attempt, e);
            if (attempt >= MaxDispatchAttempts)
            {
                ReportUndispatchable(pending.Delivery.Message, e);
                _client!.Acknowledge(pending.Delivery);
                return true;
            }
            _ = Task.Delay(TimeSpan.FromSeconds(attempt))
                .ContinueWith(_ => _deliveries.Writer.TryWrite(pending with { FailedAttempts = attempt }), TaskScheduler.Default);
            return false;
        }
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

    /// <summary>A delivery on its way to dispatch, with the number of dispatch attempts that failed so far.</summary>
    private readonly record struct PendingDelivery(InternalDelivery Delivery, int FailedAttempts);

    private void Dispatch(InternalDelivery delivery)
    {
        ApplicationMessage message = delivery.Message;
        string[] levels = message.Topic.Split('/');
        if (levels is ["", _, "cmd", _, "cancel"])
        {
            Cancel(levels[1], levels[3], message);
            _client!.Acknowledge(delivery);
            return;
        }
        if (levels.Length != 4 || levels[0].Length != 0)
        {
            _client!.Acknowledge(delivery);
            return;
        }
        string account = levels[1], kind = levels[2], name = levels[3];
        if (!_services.Accounts.Exists(account))
        {
            _client!.Acknowledge(delivery); // nobody's namespace: nothing to run
            return;
        }
        if (kind == "cmd")
        {
            DispatchCommand(delivery, account, name);
            return;
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
                _client!.Acknowledge(delivery);
                return;
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
                _client!.Acknowledge(delivery);
                return;
            }
            key = "file:" + name + "@" + file.Version;
            source = new ScriptSource(name + ".js", file.Text);
            version = file.Version;
        }
        byte[] json = ScriptMessage.FromMessage(message, account, name);
        var host = new AccountScriptHost(_services, account, name);
        Interlocked.Increment(ref _running);
        Task<ScriptRunResult> run = _runtime.RunAsync(account, key, source, json, host, _stopping.Token);
        _lastOutcome[account] = FinishAsync(delivery, run, PreviousOutcome(account), account, name, version);
    }

    private void DispatchCommand(InternalDelivery delivery, string account, string name)
    {
        ApplicationMessage message = delivery.Message;
        if (!CommandCall.TryParse(message.Payload, out CommandCall? call, out string? problem))
        {
            _outcomes.PublishFailure(message.Topic, message, account, name, null, "InvalidCall", problem!, null);
            _client!.Acknowledge(delivery);
            return;
        }
        StoredScript? script = ScriptName.IsValid(name, out _) ? _catalog.Latest(account, name) : null;
        if (script is null)
        {
            _outcomes.PublishCommandReject(message.Topic, call!.MessageId, $"account {account} has no stored script '{name}'", "NotFound", null);
            _client!.Acknowledge(delivery);
            return;
        }
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        string callKey = CallKey(account, name, call!.MessageId);
        _calls[callKey] = cancellation;
        byte[] json = ScriptMessage.FromMessage(message, account, name, call);
        Interlocked.Increment(ref _running);
        Task<ScriptRunResult> run = _runtime.RunAsync(account, script.RuntimeKey, new ScriptSource(script.Name, script.Text), json,
            new AccountScriptHost(_services, account, name), cancellation.Token);
        _lastOutcome[account] = FinishCommandAsync(delivery, run, PreviousOutcome(account), account, name, call, callKey, cancellation);
    }

    private Task PreviousOutcome(string account) => _lastOutcome.GetValueOrDefault(account) ?? Task.CompletedTask;

    private async Task FinishCommandAsync(InternalDelivery delivery, Task<ScriptRunResult> run, Task previous, string account, string name, CommandCall call, string callKey, CancellationTokenSource cancellation)
    {
        try
        {
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            ScriptRunResult result = await run.ConfigureAwait(false);
            _outcomes.PublishCommandOutcome(delivery.Message.Topic, call.MessageId, name, result);
            _client!.Acknowledge(delivery);
        }
        catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
        {
            // Cancelled by the caller (queued: it never ran; running: interrupted).
            _outcomes.PublishCommandReject(delivery.Message.Topic, call.MessageId, "The call was cancelled.", "cancelled", null);
            _client!.Acknowledge(delivery);
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
            _client!.Acknowledge(delivery);
        }
        finally
        {
            _calls.TryRemove(callKey, out _);
            cancellation.Dispose();
            Interlocked.Decrement(ref _running);
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

    private async Task FinishAsync(InternalDelivery delivery, Task<ScriptRunResult> run, Task previous, string account, string name, string? version)
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
            _client!.Acknowledge(delivery);
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
            _client!.Acknowledge(delivery);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _deliveries.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        for (int i = 0; i < 100 && Volatile.Read(ref _running) > 0; i++)
        {
            await Task.Delay(20).ConfigureAwait(false);
        }
        _stopping.Dispose();
    }
}

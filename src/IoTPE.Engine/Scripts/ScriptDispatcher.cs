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
    private readonly Channel<InternalDelivery> _deliveries = Channel.CreateUnbounded<InternalDelivery>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private InternalClient? _client;
    private Task? _loop;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, CancellationTokenSource> _calls = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<InternalDelivery, int> _failures = new(ReferenceEqualityComparer.Instance);
    private int _running;

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
    public void OnDelivery(InternalDelivery delivery) => _deliveries.Writer.TryWrite(delivery);

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
        await foreach (InternalDelivery delivery in _deliveries.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                Dispatch(delivery);
                if (!_failures.IsEmpty)
                {
                    _failures.TryRemove(delivery, out _);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Reading the script failed (the engine database locked or unreadable for a moment):
                // try again shortly; after a few attempts, report it and let the message go.
                int attempt = _failures.AddOrUpdate(delivery, 1, (_, n) => n + 1);
                _services.Log.DispatchFailed(delivery.Message.Topic, attempt, e);
                if (attempt < 5)
                {
                    _ = Task.Delay(TimeSpan.FromSeconds(attempt)).ContinueWith(_ => _deliveries.Writer.TryWrite(delivery), TaskScheduler.Default);
                }
                else
                {
                    _failures.TryRemove(delivery, out _);
                    _client!.Acknowledge(delivery);
                }
            }
        }
    }

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

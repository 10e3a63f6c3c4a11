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
/// <item><c>/&lt;account&gt;/runfile/&lt;name&gt;</c> runs <c>&lt;scripts&gt;/&lt;account&gt;/&lt;name&gt;.js</c>.</item>
/// </list>
/// Only the account, or accounts it granted publishing on the topic, get a message there: the
/// broker's authorization sees to that. Runs of one account happen in order; accounts run in parallel.
/// </summary>
internal sealed class ScriptDispatcher : IAsyncDisposable
{
    /// <summary>The subscriptions of the engine's internal session.</summary>
    public static readonly string[] TopicFilters = ["/+/run/+", "/+/runfile/+"];

    private readonly ScriptServices _services;
    private readonly ScriptRuntime _runtime;
    private readonly ScriptCatalog _catalog;
    private readonly ScriptFiles _files;
    private readonly RunOutcomePublisher _outcomes;
    private readonly Channel<InternalDelivery> _deliveries = Channel.CreateUnbounded<InternalDelivery>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private InternalClient? _client;
    private Task? _loop;
    private int _running;

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
            Dispatch(delivery);
        }
    }

    private void Dispatch(InternalDelivery delivery)
    {
        ApplicationMessage message = delivery.Message;
        string[] levels = message.Topic.Split('/');
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
        _ = FinishAsync(delivery, run, account, name, version);
    }

    private async Task FinishAsync(InternalDelivery delivery, Task<ScriptRunResult> run, string account, string name, string? version)
    {
        try
        {
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

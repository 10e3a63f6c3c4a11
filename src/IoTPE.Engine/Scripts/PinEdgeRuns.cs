using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// Runs a pin's <c>onEdge</c> script for each reported edge, like a scheduled run: the stored
/// script's latest version, the account's own sandbox (so an account's edges run in the order they
/// came), results and errors on <c>/&lt;account&gt;/run/&lt;name&gt;/result</c> and <c>/error</c>.
/// </summary>
/// <remarks>
/// The pins already debounce and rate-limit their edges; the bound on runs in flight here is the
/// last guard for a script slower than its pin's edges: beyond it an edge is dropped and logged.
/// </remarks>
internal sealed class PinEdgeRuns(ScriptServices services, ScriptRuntime runtime, ScriptCatalog catalog, RunOutcomePublisher outcomes)
{
    /// <summary>Most edge runs waiting or running at once, across pins.</summary>
    public const int MaxInFlight = 1000;

    private readonly CancellationTokenSource _stopping = new();
    private int _inFlight;

    /// <summary>Starts the run; false when it could not be (no such account or script, too many in flight, stopping).</summary>
    public bool Start(PinEdge edge)
    {
        string topic = "/" + edge.Account + "/run/" + edge.Script;
        if (_stopping.IsCancellationRequested || !services.Accounts.Exists(edge.Account))
        {
            return false;
        }
        if (catalog.Latest(edge.Account, edge.Script) is not { } script)
        {
            outcomes.PublishFailure(new RunRequest(topic, null, edge.Account, edge.Script),
                new RunFailure(RunStatus.NotFound, $"account {edge.Account} has no stored script '{edge.Script}' (onEdge of pin '{edge.Pin}')"));
            return false;
        }
        if (Interlocked.Increment(ref _inFlight) > MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            services.Log.PinEdgeDropped(edge.Account, edge.Pin, edge.Script, MaxInFlight);
            return false;
        }
        string version = script.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Task<ScriptRunResult> run = runtime.RunAsync(edge.Account, script.RuntimeKey, new ScriptSource(script.Name, script.Text), ScriptMessage.ForPinEdge(edge),
            new AccountScriptHost(services, edge.Account, edge.Script), _stopping.Token);
        _ = run.ContinueWith(t =>
        {
            Interlocked.Decrement(ref _inFlight);
            if (t.IsCompletedSuccessfully)
            {
                outcomes.Publish(new RunRequest(topic, null, edge.Account, edge.Script, version), t.Result);
            }
        }, TaskScheduler.Default);
        return true;
    }

    /// <summary>Cancels the runs under way; no more start.</summary>
    public void Stop() => _stopping.Cancel();
}

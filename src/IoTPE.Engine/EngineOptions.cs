using IoTPE.Scripting;

namespace IoTPE.Engine;

/// <summary>How the process engine runs scripts. Every setting has a default.</summary>
public sealed class EngineOptions
{
    /// <summary>Time, memory and call limits of script runs (default: 1 s, 16 MiB per account heap, 100 publishes per run).</summary>
    public ScriptLimits Limits { get; set; } = ScriptLimits.Default;

    /// <summary>Script worker threads; default one per core.</summary>
    public int ScriptWorkers { get; set; } = Environment.ProcessorCount;

    /// <summary>How long an account's script heap is kept without a run before it is freed (default 10 minutes).</summary>
    public TimeSpan IdleHeapLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Most <c>kv</c> keys per account.</summary>
    public int MaxKeysPerAccount { get; set; } = 10_000;

    /// <summary>Most script runs waiting or running at once across accounts; more messages wait in the broker's durable queue.</summary>
    public int MaxRunsInFlight { get; set; } = 256;

    /// <summary>
    /// The folder of script files for <c>/&lt;account&gt;/runfile/&lt;name&gt;</c>: each account's files are in
    /// <c>&lt;ScriptFolder&gt;/&lt;account&gt;/&lt;name&gt;.js</c>.
    /// </summary>
    public string ScriptFolder { get; set; } = Path.Combine(".", "data", "scripts");
}

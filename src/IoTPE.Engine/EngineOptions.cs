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

    /// <summary>Most bytes of <c>kv</c> keys and values per account (UTF-8), default 16 MiB; <c>kv.set</c> beyond it throws.</summary>
    public long MaxKvBytesPerAccount { get; set; } = 16L * 1024 * 1024;

    /// <summary>Versions kept per stored script (default 5): loading another deletes the oldest.</summary>
    public int MaxScriptVersions { get; set; } = 5;

    /// <summary>Most bytes of every kept version of every stored script of an account (default 8 MiB): a load beyond it is refused.</summary>
    public long MaxScriptBytesPerAccount { get; set; } = 8L * 1024 * 1024;

    /// <summary>
    /// Most bytes (topic and payload) of the retained messages in an account's namespace <c>/&lt;account&gt;/...</c>,
    /// default 4 MiB; the broker keeps retained messages in memory. A retained publish beyond it is refused (0x97).
    /// </summary>
    public long MaxRetainedBytesPerAccount { get; set; } = 4L * 1024 * 1024;

    /// <summary>What an account's <c>kv</c> entries may take.</summary>
    public Scripts.KeyValueQuota KeyValueQuota => new(MaxKeysPerAccount, MaxKvBytesPerAccount);

    /// <summary>What an account's stored scripts may take.</summary>
    public Scripts.ScriptQuota ScriptQuota => new(MaxScriptVersions, MaxScriptBytesPerAccount);

    /// <summary>Most script runs waiting or running at once across accounts; more messages wait in the broker's durable queue.</summary>
    public int MaxRunsInFlight { get; set; } = 256;

    /// <summary>
    /// The folder of script files for <c>/&lt;account&gt;/runfile/&lt;name&gt;</c>: each account's files are in
    /// <c>&lt;ScriptFolder&gt;/&lt;account&gt;/&lt;name&gt;.js</c>.
    /// </summary>
    public string ScriptFolder { get; set; } = Path.Combine(".", "data", "scripts");
}

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

    /// <summary>
    /// Most run requests the engine takes from its durable queue at once, across accounts (at most
    /// 60,000); they wait in per-account queues, so one account's backlog does not hold up another's.
    /// More wait in the broker's durable queue.
    /// </summary>
    public int MaxRunsInFlight { get; set; } = 16_384;

    /// <summary>
    /// Most run requests of one account waiting or running at once (default 1,000). A request beyond
    /// it is refused to its publisher (MQTT 5.0: 0x97 Quota exceeded; 3.1.1: not acknowledged, so
    /// it is sent again), and a script's <c>publish</c> to a run topic of that account fails.
    /// </summary>
    public int MaxQueuedRunsPerAccount { get; set; } = 1_000;

    /// <summary>Most runs of one account handed to the script workers at once (default 8): its share of the workers' queue.</summary>
    public int MaxRunsInFlightPerAccount { get; set; } = 8;

    /// <summary>
    /// How long a chain of runs started by scripts may be (default 8): a run requested by a client
    /// is hop 0, a run requested by a script's <c>publish</c> during it is hop 1, and so on; a
    /// publish that would start a run beyond the limit fails with an error.
    /// </summary>
    public int MaxRunHops { get; set; } = 8;

    /// <summary>
    /// The folder of script files for <c>/&lt;account&gt;/runfile/&lt;name&gt;</c>: each account's files are in
    /// <c>&lt;ScriptFolder&gt;/&lt;account&gt;/&lt;name&gt;.js</c>.
    /// </summary>
    public string ScriptFolder { get; set; } = Path.Combine(".", "data", "scripts");
}

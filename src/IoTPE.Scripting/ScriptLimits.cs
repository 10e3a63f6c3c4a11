namespace IoTPE.Scripting;

/// <summary>
/// The resources one script heap, and one run in it, may use. Each limit ends the run with a
/// clear error (a RangeError inside the script) and leaves the process and other heaps alone.
/// </summary>
public sealed record ScriptLimits
{
    /// <summary>The defaults, as documented on each property.</summary>
    public static ScriptLimits Default { get; } = new();

    /// <summary>Most bytes a heap may allocate (default 16 MiB); an allocation past it fails inside the script.</summary>
    public long MemoryLimitBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>Wall-clock budget of one run, host calls included (default 1 s); also bounds one compilation.</summary>
    public TimeSpan RunTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Most <c>publish</c> calls in one run (default 100).</summary>
    public int MaxPublishesPerRun { get; init; } = 100;

    /// <summary>Most host calls of any kind (publish, db, kv, log) in one run (default 10,000).</summary>
    public int MaxHostCallsPerRun { get; init; } = 10_000;

    /// <summary>
    /// Largest arguments of one host call, as JSON bytes (default 256 KiB): bounds a published
    /// payload, a log line, an SQL statement with its parameters, a stored value.
    /// </summary>
    public int MaxHostCallBytes { get; init; } = 256 * 1024;

    /// <summary>Largest return value of a run, as JSON bytes (default 256 KiB).</summary>
    public int MaxResultBytes { get; init; } = 256 * 1024;

    /// <summary>
    /// Most compiled scripts a heap keeps (default 64); loading one more unloads the one used
    /// least recently.
    /// </summary>
    public int MaxLoadedScripts { get; init; } = 64;

    internal long RunTimeoutMilliseconds => Math.Max(1, (long)Math.Ceiling(RunTimeout.TotalMilliseconds));

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MemoryLimitBytes, 256L * 1024, nameof(MemoryLimitBytes));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RunTimeout, TimeSpan.Zero, nameof(RunTimeout));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxPublishesPerRun, nameof(MaxPublishesPerRun));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxHostCallsPerRun, nameof(MaxHostCallsPerRun));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxHostCallBytes, nameof(MaxHostCallBytes));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxResultBytes, nameof(MaxResultBytes));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxLoadedScripts, nameof(MaxLoadedScripts));
    }
}

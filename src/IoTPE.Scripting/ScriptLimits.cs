namespace IoTPE.Scripting;

/// <summary>
/// The resources one run of a script may use. Each limit ends the run with a clear error and
/// leaves the process and other accounts alone.
/// </summary>
public sealed record ScriptLimits
{
    /// <summary>The defaults, as documented on each property.</summary>
    public static ScriptLimits Default { get; } = new();

    /// <summary>
    /// Most managed memory one run may allocate, host calls included (default 16 MiB); the run
    /// ends with <see cref="ScriptRunStatus.OutOfMemory"/> when it allocates more. An account's
    /// engine is also renewed (its global variables dropped) once its runs together allocated
    /// four times this, which bounds what global state can keep alive.
    /// </summary>
    public long MemoryLimitBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>Wall-clock budget of one run, host calls and promise jobs included (default 1 s).</summary>
    public TimeSpan RunTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Most JavaScript statements one run may execute (default: no limit, the time budget bounds
    /// a run); past it the run ends with <see cref="ScriptRunStatus.Threw"/>.
    /// </summary>
    public int? MaxStatementsPerRun { get; init; }

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

    /// <summary>
    /// How long one regular-expression match may take: a quarter of the run's budget, so that
    /// catastrophic backtracking ends within the run's budget even when the run has used some of it.
    /// </summary>
    internal TimeSpan RegexTimeout => TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, RunTimeout.Ticks / 4));

    /// <summary>Allocations after which an account's engine is renewed (see <see cref="MemoryLimitBytes"/>).</summary>
    internal long EngineRenewalBytes => MemoryLimitBytes > long.MaxValue / 4 ? long.MaxValue : MemoryLimitBytes * 4;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MemoryLimitBytes, 256L * 1024, nameof(MemoryLimitBytes));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RunTimeout, TimeSpan.Zero, nameof(RunTimeout));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxPublishesPerRun, nameof(MaxPublishesPerRun));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxHostCallsPerRun, nameof(MaxHostCallsPerRun));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxHostCallBytes, nameof(MaxHostCallBytes));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxResultBytes, nameof(MaxResultBytes));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxLoadedScripts, nameof(MaxLoadedScripts));
        if (MaxStatementsPerRun is { } statements)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(statements, nameof(MaxStatementsPerRun));
        }
    }
}

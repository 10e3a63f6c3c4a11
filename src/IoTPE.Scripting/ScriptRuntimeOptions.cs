namespace IoTPE.Scripting;

/// <summary>How a <see cref="ScriptRuntime"/> runs scripts.</summary>
public sealed record ScriptRuntimeOptions
{
    /// <summary>The limits of every heap and run.</summary>
    public ScriptLimits Limits { get; init; } = ScriptLimits.Default;

    /// <summary>Threads that run scripts (default: one per core). Runs of different owners use them in parallel.</summary>
    public int WorkerCount { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Native stack of each worker thread (default 16 MiB). The interpreter recurses on the native
    /// stack for nested calls, source, JSON and built-in callbacks; its stack guard turns exhaustion
    /// into a RangeError before the end, so a large stack lets scripts use the full call depth and
    /// leaves room for host calls at the deepest point.
    /// </summary>
    public int WorkerStackBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// How long an owner's heap is kept without a run before it is freed (default 10 minutes;
    /// <see cref="Timeout.InfiniteTimeSpan"/> keeps heaps for good). A device with many accounts
    /// that each run rarely then holds heaps only for the active ones; the next run builds a fresh
    /// engine (a few milliseconds), so global variables do not outlive it.
    /// </summary>
    public TimeSpan IdleHeapLifetime { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The clock that measures <see cref="IdleHeapLifetime"/> (default: the system's).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// When true, the continuations of a run's task run on the worker that finished the run instead
    /// of on the thread pool (default false). A caller that awaits one run after another (the
    /// engine's per-account loop) then goes on without waking another thread; in exchange its
    /// continuations hold the worker, so they must be short, must not block, and must not dispose
    /// the runtime.
    /// </summary>
    public bool ContinueRunsOnWorker { get; init; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(Limits, nameof(Limits));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        Limits.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(WorkerCount, nameof(WorkerCount));
        ArgumentOutOfRangeException.ThrowIfLessThan(WorkerStackBytes, 1024 * 1024, nameof(WorkerStackBytes));
        if (IdleHeapLifetime != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(IdleHeapLifetime, TimeSpan.Zero, nameof(IdleHeapLifetime));
        }
    }
}

namespace IoTPE.Scripting;

/// <summary>What one run of a script produced.</summary>
public sealed record ScriptRunResult
{
    /// <summary>How the run ended.</summary>
    public required ScriptRunStatus Status { get; init; }

    /// <summary>
    /// The script's return value as JSON (UTF-16 here; encode as UTF-8 to publish it), or
    /// <see langword="null"/> when it returned <c>undefined</c> (or a function) or did not complete.
    /// </summary>
    public string? ResultJson { get; init; }

    /// <summary>Why the run did not complete, and where; <see langword="null"/> when it completed.</summary>
    public ScriptError? Error { get; init; }

    /// <summary>Wall-clock time of the run, host calls included.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Managed bytes the run allocated, host calls included (what <see cref="ScriptLimits.MemoryLimitBytes"/> bounds).</summary>
    public long AllocatedBytes { get; init; }

    /// <summary>
    /// The first exception other than <see cref="ScriptHostException"/> that the host threw during
    /// the run (a bug or an infrastructure failure, e.g. a database error): the script saw only
    /// <c>Error: &lt;function&gt; failed</c>; this is for the host's own log.
    /// </summary>
    public Exception? HostException { get; init; }

    /// <summary>The run was stopped by an interrupt request (cancellation), not by its own time budget.</summary>
    internal bool Interrupted { get; init; }

    /// <summary>Whether the script returned normally.</summary>
    public bool Completed => Status == ScriptRunStatus.Completed;
}

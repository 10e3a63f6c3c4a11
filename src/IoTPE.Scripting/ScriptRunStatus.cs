namespace IoTPE.Scripting;

/// <summary>How a run ended.</summary>
public enum ScriptRunStatus
{
    /// <summary>The script returned; <see cref="ScriptRunResult.ResultJson"/> holds its value unless it was <c>undefined</c>.</summary>
    Completed,

    /// <summary>
    /// The script threw (or its return value could not be handed back: not JSON-serializable, or
    /// larger than <see cref="ScriptLimits.MaxResultBytes"/>); see <see cref="ScriptRunResult.Error"/>.
    /// </summary>
    Threw,

    /// <summary>
    /// The run exceeded <see cref="ScriptLimits.RunTimeout"/> (or one regular-expression match ran
    /// longer than a quarter of it). The account's engine is renewed before its next run.
    /// </summary>
    TimedOut,

    /// <summary>The run allocated more than <see cref="ScriptLimits.MemoryLimitBytes"/>. The account's engine is renewed before its next run.</summary>
    OutOfMemory,

    /// <summary>The script did not compile; <see cref="ScriptRunResult.Error"/> has the line and column.</summary>
    CompileFailed,

    /// <summary>The message handed to the run is not valid JSON; the script did not run.</summary>
    InvalidMessage,
}

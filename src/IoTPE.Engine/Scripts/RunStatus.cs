using IoTPE.Commands;
using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// How a run request ended when it did not complete: the <c>status</c> of a run's error message and the
/// <c>error.code</c> of a rejected command call (docs/scripts.md, docs/commands.md). The first five are the
/// sandbox's own (<see cref="ScriptRunStatus"/>); the rest are the engine's.
/// </summary>
internal enum RunStatus
{
    /// <summary>The script threw.</summary>
    Threw,

    /// <summary>The script ran past its time budget.</summary>
    TimedOut,

    /// <summary>The script ran past its memory budget.</summary>
    OutOfMemory,

    /// <summary>The script did not compile.</summary>
    CompileFailed,

    /// <summary>The message given to the script could not be read.</summary>
    InvalidMessage,

    /// <summary>The account has no such script (or script file).</summary>
    NotFound,

    /// <summary>A command call's payload is not a call.</summary>
    InvalidCall,

    /// <summary>The request was running when the process died, twice: it does not run again.</summary>
    Quarantined,

    /// <summary>The engine itself failed to read the script or to run it.</summary>
    InternalError,

    /// <summary>The caller cancelled the command call.</summary>
    Cancelled,
}

/// <summary>The names of <see cref="RunStatus"/> values on the wire.</summary>
internal static class RunStatusNames
{
    /// <summary>The status's name in an error message or a reject.</summary>
    public static string ToWire(this RunStatus status) => status switch
    {
        RunStatus.Threw => nameof(RunStatus.Threw),
        RunStatus.TimedOut => nameof(RunStatus.TimedOut),
        RunStatus.OutOfMemory => nameof(RunStatus.OutOfMemory),
        RunStatus.CompileFailed => nameof(RunStatus.CompileFailed),
        RunStatus.InvalidMessage => nameof(RunStatus.InvalidMessage),
        RunStatus.NotFound => nameof(RunStatus.NotFound),
        RunStatus.InvalidCall => nameof(RunStatus.InvalidCall),
        RunStatus.Quarantined => nameof(RunStatus.Quarantined),
        RunStatus.InternalError => nameof(RunStatus.InternalError),
        RunStatus.Cancelled => CommandWireFormat.CancelledCode, // the code IoTPE's client recognises
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <summary>The status of a sandbox run that did not complete.</summary>
    public static RunStatus FromScript(ScriptRunStatus status) => status switch
    {
        ScriptRunStatus.Threw => RunStatus.Threw,
        ScriptRunStatus.TimedOut => RunStatus.TimedOut,
        ScriptRunStatus.OutOfMemory => RunStatus.OutOfMemory,
        ScriptRunStatus.CompileFailed => RunStatus.CompileFailed,
        ScriptRunStatus.InvalidMessage => RunStatus.InvalidMessage,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "a completed run has no failure status"),
    };
}

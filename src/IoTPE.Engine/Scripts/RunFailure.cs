using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>Why a run request failed, as the caller is told.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="Message">What happened, for a person.</param>
/// <param name="Position">Where in the script, when the script is at fault.</param>
/// <param name="Stack">The script's frames of a runtime error, one <c>"    at f (calc:3:7)"</c> per line.</param>
internal sealed record RunFailure(RunStatus Status, string Message, SourcePosition? Position = null, string? Stack = null)
{
    /// <summary>The failure of a sandbox run that did not complete.</summary>
    public static RunFailure Of(ScriptRunResult result) =>
        new(RunStatusNames.FromScript(result.Status), result.Error?.Message ?? "the run failed", result.Error?.Position, result.Error?.Stack);
}

using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>Compiles a script without running it (no engine is set up for it): what <c>load</c> does before storing.</summary>
public static class ScriptCheck
{
    /// <summary>Returns the syntax error with its line and column, or null when the script compiles.</summary>
    /// <param name="name">The script's name, as errors show it.</param>
    /// <param name="text">The script's text.</param>
    /// <param name="limits">Not used: parsing depends on no limit (kept for the callers that pass the engine's).</param>
    public static ScriptError? Check(string name, string text, ScriptLimits? limits = null)
    {
        _ = limits;
        return ScriptHeap.CheckSource(new ScriptSource(name, text));
    }
}

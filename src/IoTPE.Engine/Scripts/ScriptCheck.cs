using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>Compiles a script without running it (no engine is set up for it): what <c>load</c> does before storing.</summary>
public static class ScriptCheck
{
    /// <summary>Returns the syntax error with its line and column, or null when the script compiles.</summary>
    /// <param name="name">The script's name, as errors show it.</param>
    /// <param name="text">The script's text.</param>
    public static ScriptError? Check(string name, string text) => ScriptHeap.CheckSource(new ScriptSource(name, text));
}

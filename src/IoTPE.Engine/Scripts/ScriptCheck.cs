using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>Compiles a script without running it, in a throwaway sandbox heap: what <c>load</c> does before storing.</summary>
public static class ScriptCheck
{
    /// <summary>Returns the syntax error with its line and column, or null when the script compiles.</summary>
    public static ScriptError? Check(string name, string text, ScriptLimits? limits = null)
    {
        using ScriptHeap heap = ScriptHeap.Create(limits ?? ScriptLimits.Default);
        return heap.Check(new ScriptSource(name, text));
    }
}

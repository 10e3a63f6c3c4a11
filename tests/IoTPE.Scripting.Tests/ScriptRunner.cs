namespace IoTPE.Scripting.Tests;

/// <summary>Loads and runs one script in a fresh heap: the shortest way to ask "what does this script do".</summary>
internal static class ScriptRunner
{
    public static ScriptRunResult Run(string text, string message = "{}", IScriptHost? host = null, ScriptLimits? limits = null)
    {
        using ScriptHeap heap = ScriptHeap.Create(limits);
        return Run(heap, text, message, host);
    }

    public static ScriptRunResult Run(ScriptHeap heap, string text, string message = "{}", IScriptHost? host = null)
    {
        ScriptError? error = heap.Load("test@1", new ScriptSource("test.js", text));
        Assert.Null(error);
        return heap.Run("test@1", message, host ?? new RecordingHost());
    }

    /// <summary>Runs the script and returns its result JSON, failing with the script's error if it did not complete.</summary>
    public static string? Result(string text, string message = "{}", IScriptHost? host = null)
    {
        ScriptRunResult result = Run(text, message, host);
        Assert.True(result.Completed, $"{result.Status}: {result.Error}");
        return result.ResultJson;
    }
}

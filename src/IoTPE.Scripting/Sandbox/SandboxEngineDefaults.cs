namespace IoTPE.Scripting.Sandbox;

/// <summary>Engine settings that are not <see cref="ScriptLimits"/>: fixed, and documented in README.md.</summary>
internal static class SandboxEngineDefaults
{
    /// <summary>Nesting of JSON that JSON.parse, messages and host answers may have.</summary>
    public const int JsonDepth = 1000;

    /// <summary>
    /// JavaScript call depth. Node.js allows about 10,000 simple frames; an interpreter spends far
    /// more native stack and time per frame (10,000 levels took over a second here), and rules
    /// rarely recurse deeper than their data.
    /// </summary>
    public const int CallDepth = 1_000;

    /// <summary>Most elements an array may have (Jint's constraint): bounds what one built-in call can allocate.</summary>
    public const uint MaxArrayLength = 16 * 1024 * 1024;
}

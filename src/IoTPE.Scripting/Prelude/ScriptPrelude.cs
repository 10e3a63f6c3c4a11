using Acornima.Ast;
using Jint;

namespace IoTPE.Scripting.Prelude;

/// <summary>
/// The JavaScript that defines the script API in every engine (prelude.js, embedded in this
/// assembly; see its header for what it does and why), parsed once per process.
/// </summary>
internal static class ScriptPrelude
{
    private const string ResourceName = "IoTPE.Scripting.Prelude.prelude.js";

    /// <summary>
    /// The prelude as one function expression around the file's text, whose parameters are the host
    /// bridge, its typed publish and the API installer. No line break is added, so line numbers match the file.
    /// </summary>
    public static Prepared<Script> Prepared { get; } =
        Engine.PrepareScript("(function (host, hostPublish, install) {" + Read() + "\n})", Sandbox.SandboxEngineDefaults.PreludeName, strict: false);

    private static string Read()
    {
        using Stream stream = typeof(ScriptPrelude).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The script prelude ({ResourceName}) is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

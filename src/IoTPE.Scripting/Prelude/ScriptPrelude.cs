namespace IoTPE.Scripting.Prelude;

/// <summary>
/// The JavaScript that defines the script API in every heap (prelude.js, embedded in this
/// assembly; see its header for what it does and why).
/// </summary>
internal static class ScriptPrelude
{
    private const string ResourceName = "IoTPE.Scripting.Prelude.prelude.js";

    /// <summary>
    /// The prelude as the engine compiles it: one function expression around the file's text
    /// (ASCII, so also valid CESU-8). No line break is added, so line numbers match the file.
    /// </summary>
    public static byte[] Text { get; } = [.. "function (host) {"u8, .. Read(), .. "\n}"u8];

    private static byte[] Read()
    {
        using Stream stream = typeof(ScriptPrelude).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The script prelude ({ResourceName}) is missing from the assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        byte[] text = copy.ToArray();
        if (text.AsSpan().IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0)
        {
            throw new InvalidOperationException("The script prelude must be ASCII.");
        }
        return text;
    }
}

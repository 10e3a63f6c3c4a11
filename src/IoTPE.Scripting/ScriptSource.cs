using System.Text;

namespace IoTPE.Scripting;

/// <summary>
/// A script as its author wrote it. A script is the body of a function whose parameter
/// <c>message</c> is the run's message: it may <c>return</c> a value, which becomes the result of
/// the run. Positions in errors always refer to this text.
/// </summary>
public sealed class ScriptSource
{
    // Compiled as one function expression (DUK_COMPILE_FUNCTION) whose one parameter is the run's
    // message. The prefix has no line break, so line numbers need no mapping and only columns on
    // the first line need shifting back.
    private const string CompiledPrefix = "function (message) {";
    private const string CompiledSuffix = "\n}";

    private readonly int _prefixByteCount;
    private readonly int _textByteCount;

    /// <summary>Creates a script from its name (used in error messages) and its text.</summary>
    public ScriptSource(string name, string text)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(text);
        Name = name;
        Text = text;
        _prefixByteCount = Encoding.UTF8.GetByteCount(CompiledPrefix);
        TextUtf8 = Encoding.UTF8.GetBytes(text);
        _textByteCount = TextUtf8.Length;
        CompiledUtf8 = [.. Encoding.UTF8.GetBytes(CompiledPrefix), .. TextUtf8, .. Encoding.UTF8.GetBytes(CompiledSuffix)];
    }

    /// <summary>The script's name, e.g. its file name or stored name.</summary>
    public string Name { get; }

    /// <summary>The script's text.</summary>
    public string Text { get; }

    internal byte[] TextUtf8 { get; }

    /// <summary>The text handed to the compiler: the script wrapped as a function expression.</summary>
    internal byte[] CompiledUtf8 { get; }

    /// <summary>Maps a byte offset in <see cref="CompiledUtf8"/> to a position in <see cref="Text"/>.</summary>
    internal SourcePosition PositionOfCompiledOffset(long compiledOffset)
    {
        long offset = Math.Clamp(compiledOffset - _prefixByteCount, 0, _textByteCount);
        return SourcePosition.At(TextUtf8, (int)offset);
    }
}

namespace IoTPE.Scripting;

/// <summary>
/// A script as its author wrote it. A script is the body of a function whose parameter
/// <c>message</c> is the run's message: it may <c>return</c> a value (or, with <c>await</c>, a
/// promise's value), which becomes the result of the run. Positions in errors always refer to this
/// text.
/// </summary>
public sealed class ScriptSource
{
    /// <summary>Creates a script from its name (used in error messages and stacks) and its text.</summary>
    public ScriptSource(string name, string text)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(text);
        Name = name;
        Text = text;
    }

    /// <summary>The script's name, e.g. its file name or stored name.</summary>
    public string Name { get; }

    /// <summary>The script's text.</summary>
    public string Text { get; }
}

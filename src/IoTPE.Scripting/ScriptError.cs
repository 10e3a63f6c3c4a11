namespace IoTPE.Scripting;

/// <summary>Why a script did not compile or did not finish, and where in its source.</summary>
/// <param name="Message">The error as JavaScript states it, e.g. <c>SyntaxError: unterminated string</c>.</param>
/// <param name="Position">
/// Where in the script's own source the error is, when known. Compile errors have a line and a
/// column; runtime errors have a line only (Duktape records lines, not columns, for bytecode).
/// </param>
public sealed record ScriptError(string Message, SourcePosition? Position)
{
    /// <inheritdoc/>
    public override string ToString() => Position is { } p ? $"{p}: {Message}" : Message;
}

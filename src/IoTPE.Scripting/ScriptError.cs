namespace IoTPE.Scripting;

/// <summary>Why a script did not compile or did not finish, and where in its source.</summary>
/// <param name="Message">The error as JavaScript states it, e.g. <c>SyntaxError: Unexpected token ';'</c>.</param>
/// <param name="Position">
/// Where in the script's own source the error is, when known: line and column, for syntax errors
/// and for errors at run time alike (the innermost place in the script, so an error raised inside
/// the script API points at the script's call).
/// </param>
public sealed record ScriptError(string Message, SourcePosition? Position)
{
    /// <summary>
    /// The script's call stack when the error was thrown, innermost first, one <c>at function
    /// (script:line:column)</c> per line, positions in the author's text; <see langword="null"/>
    /// for compile errors and for values thrown without a stack.
    /// </summary>
    public string? Stack { get; init; }

    /// <inheritdoc/>
    public override string ToString() => Position is { } p ? $"{p}: {Message}" : Message;
}

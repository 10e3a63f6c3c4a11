using Acornima.Ast;
using Jint;

namespace IoTPE.Scripting.Sandbox;

/// <summary>
/// A script parsed once, as the function the engine calls with the run's message. The parsed
/// tree belongs to no engine: every engine the script runs in (one per account, renewed after
/// failures) instantiates it from here without parsing again.
/// </summary>
internal sealed class CompiledScript
{
    // The script's text becomes the body of one function expression. The prefix has no line break,
    // so only columns on the first line need mapping back; the suffix's line break ends a trailing
    // line comment.
    private const string SyncPrefix = "(function (message) {";
    private const string AsyncPrefix = "(async function (message) {";
    private const string Suffix = "\n})";

    private CompiledScript(ScriptSource source, Prepared<Script> prepared, int prefixLength, bool isAsync)
    {
        Source = source;
        Prepared = prepared;
        PrefixLength = prefixLength;
        IsAsync = isAsync;
    }

    public ScriptSource Source { get; }

    /// <summary>The parsed wrapper; evaluating it yields the script's function.</summary>
    public Prepared<Script> Prepared { get; }

    /// <summary>Characters the wrapper adds before the script's first character.</summary>
    public int PrefixLength { get; }

    /// <summary>Whether the script uses <c>await</c> at its top level, so runs as an async function.</summary>
    public bool IsAsync { get; }

    /// <summary>Parses <paramref name="source"/>; returns the script, or the syntax error in the author's text.</summary>
    public static CompiledScript? Compile(ScriptSource source, out ScriptError? error)
    {
        // A script that awaits is an async function body. Only such a script can mention await, so
        // the sync form, which is cheaper to run, is tried first otherwise; a script that only
        // uses "await" as a name (legal outside async functions) still compiles as sync.
        bool mentionsAwait = source.Text.Contains("await", StringComparison.Ordinal);
        if (mentionsAwait)
        {
            CompiledScript? asAsync = TryCompile(source, AsyncPrefix, isAsync: true, out ScriptError? asyncError);
            if (asAsync is not null)
            {
                error = null;
                return asAsync;
            }
            CompiledScript? asSync = TryCompile(source, SyncPrefix, isAsync: false, out _);
            error = asSync is null ? asyncError : null;
            return asSync;
        }
        return TryCompile(source, SyncPrefix, isAsync: false, out error);
    }

    /// <summary>Maps an index in the wrapped text to a position in the author's text.</summary>
    public SourcePosition PositionOfWrappedIndex(int index) => PositionOf(Source, index - PrefixLength);

    /// <summary>Maps a 1-based line and column of the wrapped text to the author's text.</summary>
    public SourcePosition PositionOfWrapped(int line, int column) =>
        new(line, line == 1 ? Math.Max(1, column - PrefixLength) : column);

    private static CompiledScript? TryCompile(ScriptSource source, string prefix, bool isAsync, out ScriptError? error)
    {
        string wrapped = string.Concat(prefix, source.Text, Suffix);
        Prepared<Script> prepared;
        try
        {
            prepared = Engine.PrepareScript(wrapped, source.Name, strict: false);
        }
        catch (ScriptPreparationException e) when (e.InnerException is Acornima.ParseErrorException parse)
        {
            int index = parse.Error?.Index ?? -1;
            string description = parse.Error?.Description ?? parse.Message;
            error = new ScriptError("SyntaxError: " + description, index >= 0 ? PositionOf(source, index - prefix.Length) : null);
            return null;
        }
        catch (ScriptPreparationException e) when (e.InnerException is InsufficientExecutionStackException)
        {
            error = new ScriptError("SyntaxError: source nested too deeply", null);
            return null;
        }

        // The text must be exactly one function body: a script that closes the wrapper early
        // ("}); other(); (function () {") parses as several statements.
        if (prepared.Program?.Body is not [ExpressionStatement { Expression: FunctionExpression function }] ||
            function.End != wrapped.Length - 1)
        {
            int closing = prepared.Program?.Body is [ExpressionStatement { Expression: FunctionExpression early }, ..] ? early.End - 1 : prefix.Length;
            error = new ScriptError("SyntaxError: Unexpected token '}'", PositionOf(source, closing - prefix.Length));
            return null;
        }
        error = null;
        return new CompiledScript(source, prepared, prefix.Length, isAsync);
    }

    private static SourcePosition PositionOf(ScriptSource source, int textIndex) =>
        SourcePosition.At(source.Text, Math.Clamp(textIndex, 0, source.Text.Length));
}

using System.Text;
using Jint;
using Jint.Native;
using Jint.Native.Error;
using Jint.Native.Function;
using Jint.Native.Json;
using Jint.Native.Object;
using Jint.Runtime;

namespace IoTPE.Scripting.Sandbox;

/// <summary>
/// Turns what a run threw into a <see cref="ScriptError"/>: the message as JavaScript would print
/// it, the innermost place in the script, and the script's own stack frames (frames of other
/// sources are left out), with positions in the author's text.
/// </summary>
internal static class ScriptErrorReader
{
    /// <summary>Error messages are cut to this many UTF-8 bytes.</summary>
    public const int MaxMessageBytes = 4096;

    /// <summary>Frames kept in <see cref="ScriptError.Stack"/>, innermost first (as Node.js keeps 10).</summary>
    public const int MaxStackFrames = 10;

    private const string NotConvertible = "uncaught exception (its value could not be converted to a string)";

    /// <summary>
    /// An error thrown by JavaScript (a value the script threw, or an error of the engine or the
    /// API). Describing it may run script code (toString, toJSON), so call it with the budget armed.
    /// </summary>
    public static ScriptError FromThrown(JavaScriptException exception, CompiledScript script, Engine engine) =>
        Located(Describe(exception.Error, engine), exception.JavaScriptStackTrace, exception.Location, script);

    /// <summary>The reason a promise the script returned was rejected with (an Error keeps its stack).</summary>
    public static ScriptError FromRejection(JsValue reason, CompiledScript script, Engine engine)
    {
        string? stack = null;
        if (reason is ErrorInstance error)
        {
            try
            {
                JsValue value = error.Get("stack");
                stack = value.IsString() ? value.AsString() : null;
            }
            catch (JavaScriptException)
            {
                // a getter on the error that throws: no stack
            }
        }
        return Located(Describe(reason, engine), stack, default, script);
    }

    /// <summary>
    /// A run stopped by the engine (time, memory, recursion): <paramref name="message"/>, and where
    /// the script was when it stopped, if the engine recorded it.
    /// </summary>
    public static ScriptError Stopped(string message, Exception exception, CompiledScript script)
    {
        JintException.TryGetJavaScriptCallStack(exception, out string? stack);
        JintException.TryGetJavaScriptLocation(exception, out Acornima.SourceLocation location);
        return Located(message, stack, location, script);
    }

    private static ScriptError Located(string message, string? stack, in Acornima.SourceLocation location, CompiledScript script)
    {
        (SourcePosition? position, string? scriptStack) = ScriptFrames(stack, script);
        if (position is null && location.SourceFile == script.Source.Name && location.Start.Line > 0)
        {
            position = script.PositionOfWrapped(location.Start.Line, location.Start.Column + 1);
        }
        return new ScriptError(Cut(message), position) { Stack = scriptStack };
    }

    // Frames look like "    at name (file:line:column)" or "    at file:line:column".
    private static (SourcePosition? Innermost, string? Stack) ScriptFrames(string? stack, CompiledScript script)
    {
        if (string.IsNullOrEmpty(stack))
        {
            return (null, null);
        }
        SourcePosition? innermost = null;
        var frames = new StringBuilder();
        int kept = 0;
        // The wrapper's closing line: the engine's own call of the script's function is located there.
        int wrapperLine = script.Source.Text.AsSpan().Count('\n') + 2;
        foreach (string rawLine in stack.Split('\n'))
        {
            string line = rawLine.Trim();
            if (!line.StartsWith("at ", StringComparison.Ordinal))
            {
                continue;
            }
            string frame = line[3..];
            string? name = null;
            if (frame.EndsWith(')') && frame.LastIndexOf(" (", StringComparison.Ordinal) is var open and > 0)
            {
                name = frame[..open];
                frame = frame[(open + 2)..^1];
            }
            int columnColon = frame.LastIndexOf(':');
            int lineColon = columnColon > 0 ? frame.LastIndexOf(':', columnColon - 1) : -1;
            if (lineColon <= 0 || frame[..lineColon] != script.Source.Name ||
                !int.TryParse(frame.AsSpan(lineColon + 1, columnColon - lineColon - 1), out int frameLine) ||
                !int.TryParse(frame.AsSpan(columnColon + 1), out int frameColumn))
            {
                continue;
            }
            if (frameLine >= wrapperLine)
            {
                continue;
            }
            SourcePosition position = script.PositionOfWrapped(frameLine, frameColumn);
            innermost ??= position;
            if (++kept > MaxStackFrames)
            {
                continue;
            }
            frames.Append("    at ");
            if (name is not null && name != "<anonymous>")
            {
                frames.Append(name).Append(" (").Append(script.Source.Name).Append(':').Append(position).Append(")\n");
            }
            else
            {
                frames.Append(script.Source.Name).Append(':').Append(position).Append('\n');
            }
        }
        return (innermost, frames.Length > 0 ? frames.ToString(0, frames.Length - 1) : null);
    }

    /// <summary>
    /// A thrown value as text: errors as <c>Name: message</c>, other objects as JSON when they have
    /// one, anything else as <c>String(value)</c>.
    /// </summary>
    public static string Describe(JsValue value, Engine engine)
    {
        try
        {
            if (value is ObjectInstance and not ErrorInstance and not Function)
            {
                JsValue json = new JsonSerializer(engine).Serialize(value);
                if (json.IsString())
                {
                    return json.AsString();
                }
            }
            return TypeConverter.ToString(value);
        }
        catch (JavaScriptException)
        {
            return NotConvertible;
        }
        catch (JintException)
        {
            return NotConvertible;
        }
    }

    private static string Cut(string message)
    {
        if (Encoding.UTF8.GetByteCount(message) <= MaxMessageBytes)
        {
            return message;
        }
        int length = 0, bytes = 0;
        while (length < message.Length)
        {
            int width = char.IsHighSurrogate(message[length]) && length + 1 < message.Length ? 2 : 1;
            int size = Encoding.UTF8.GetByteCount(message.AsSpan(length, width));
            if (bytes + size > MaxMessageBytes)
            {
                break;
            }
            bytes += size;
            length += width;
        }
        return message[..length];
    }
}

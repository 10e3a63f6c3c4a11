using System.Buffers;
using System.Text.Json;
using Jint;
using Jint.Native;
using Jint.Native.Json;
using Jint.Runtime;
using Jint.Native.Error;
using Jint.Runtime.Interop;
using IoTPE.Scripting.Sandbox;

namespace IoTPE.Scripting.Interop;

/// <summary>
/// Where the script API (<see cref="ScriptApi"/>) meets the run's <see cref="IScriptHost"/>: each
/// call is counted against the run's limits, its arguments are encoded as UTF-8 JSON (a publish is
/// handed over typed when the host takes typed publishes) and the host's answer is decoded.
/// </summary>
/// <remarks>
/// Failures the script should see are thrown as <see cref="JavaScriptException"/> (a CLR
/// exception would escape the script's try/catch and end the run); everything the host throws is
/// turned into one.
/// </remarks>
internal sealed class HostCallBridge
{
    // As deep as the engine's JSON parser goes (SandboxEngine), so that any value a script can
    // encode, e.g. for kv.set, reaches the host.
    private static readonly JsonDocumentOptions ArgumentsOptions = new() { MaxDepth = SandboxEngineDefaults.JsonDepth };

    private readonly Engine _engine;
    private readonly ErrorConstructor _rangeError;
    private readonly ScriptLimits _limits;
    private readonly Jint.Native.Json.JsonSerializer _serializer;
    private readonly JsonParser _parser;
    private readonly ArrayBufferWriter<byte> _arguments = new(256);
    private readonly ArrayBufferWriter<byte> _result = new(256);
    private readonly Utf8JsonWriter _writer;
    private IScriptHost? _host;
    private bool _encoding;
    private int _hostCalls;
    private int _publishes;

    public HostCallBridge(Engine engine, ScriptLimits limits)
    {
        _engine = engine;
        // Taken before any script runs, so a script replacing the global cannot change what the API throws.
        _rangeError = (ErrorConstructor)engine.GetValue("RangeError");
        _limits = limits;
        _serializer = new Jint.Native.Json.JsonSerializer(engine);
        _parser = new JsonParser(engine);
        _writer = new Utf8JsonWriter(_result);
    }

    /// <summary>
    /// <c>JSON.stringify(value)</c> by the realm's own serializer, whatever a script did to the global
    /// <c>JSON</c>: a string, or undefined for a function, a symbol or undefined.
    /// </summary>
    /// <exception cref="JavaScriptException">The value cannot be encoded (a cycle, a toJSON that throws or calls the API).</exception>
    public JsValue Stringify(JsValue value)
    {
        _encoding = true;
        try
        {
            return _serializer.Serialize(value);
        }
        finally
        {
            _encoding = false;
        }
    }

    /// <summary>The first unexpected exception of the current run's host (see <see cref="ScriptRunResult.HostException"/>).</summary>
    public Exception? HostException { get; private set; }

    public void BeginRun(IScriptHost host)
    {
        _host = host;
        _hostCalls = 0;
        _publishes = 0;
        HostException = null;
    }

    public void EndRun() => _host = null;

    /// <summary>
    /// Calls the host's <paramref name="function"/> (one of <see cref="ScriptHostFunction"/>'s names)
    /// with <paramref name="arguments"/>, checked by the caller; returns the host's answer.
    /// </summary>
    /// <exception cref="JavaScriptException">A limit was reached or the host failed: the script can catch it.</exception>
    public JsValue Call(string function, params ReadOnlySpan<JsValue> arguments)
    {
        IScriptHost host = Count(function);
        EncodeArguments(arguments);
        CheckSize(function);
        return Invoke(host, function);
    }

    /// <summary>
    /// <c>publish</c> with its arguments checked by the caller. Limits and failures as for
    /// <see cref="Call"/>; only the JSON round trip is skipped when the host takes typed publishes.
    /// </summary>
    public void Publish(string topic, string text, int qos, bool retain)
    {
        IScriptHost host = Count(ScriptHostFunction.Publish);
        var publisher = host as IScriptPublisher;
        // Each character is at most 6 bytes as JSON (\uXXXX); only a call that might be too large is measured.
        if (publisher is null || (long)(topic.Length + text.Length) * 6 + 16 > _limits.MaxHostCallBytes)
        {
            EncodeArguments([new JsString(topic), new JsString(text), JsNumber.Create(qos), retain ? JsBoolean.True : JsBoolean.False]);
            CheckSize(ScriptHostFunction.Publish);
        }
        if (publisher is null)
        {
            Invoke(host, ScriptHostFunction.Publish);
            return;
        }
        try
        {
            publisher.Publish(WithoutLoneSurrogates(topic), WithoutLoneSurrogates(text), qos, retain);
        }
        catch (ScriptHostException e)
        {
            throw Error(_engine.Intrinsics.Error, e.Message);
        }
        catch (Exception e) when (e is not JintException)
        {
            HostException ??= e;
            throw Error(_engine.Intrinsics.Error, $"{ScriptHostFunction.Publish} failed");
        }
    }

    // Counts a call against the run's limits; the run's host.
    private IScriptHost Count(string function)
    {
        if (_host is null)
        {
            // e.g. a host function called from a toJSON() while the run's result is encoded
            throw Error(_engine.Intrinsics.Error, "host functions can only be called while the script runs");
        }
        if (_encoding)
        {
            // A toJSON calling the API while a value is being encoded for it: the serializer and the
            // arguments buffer are in use, and a second call would interleave with the first.
            throw Error(_engine.Intrinsics.Error, $"{function} cannot be called from a toJSON while another API call's value is being encoded");
        }
        if (_hostCalls >= _limits.MaxHostCallsPerRun)
        {
            throw Error(_rangeError,
                $"host call limit reached: at most {_limits.MaxHostCallsPerRun} calls of publish, db, kv and log per run");
        }
        _hostCalls++;
        if (ReferenceEquals(function, ScriptHostFunction.Publish))
        {
            if (_publishes >= _limits.MaxPublishesPerRun)
            {
                throw Error(_rangeError, $"publish limit reached: at most {_limits.MaxPublishesPerRun} publishes per run");
            }
            _publishes++;
        }
        return _host;
    }

    private void CheckSize(string function)
    {
        if (_arguments.WrittenCount > _limits.MaxHostCallBytes)
        {
            throw Error(_rangeError,
                $"{function}: arguments too large: {_arguments.WrittenCount} bytes as JSON, the limit is {_limits.MaxHostCallBytes}");
        }
    }

    // Hands the encoded arguments to the host; decodes its answer.
    private JsValue Invoke(IScriptHost host, string function)
    {
        _result.ResetWrittenCount();
        _writer.Reset(_result);
        try
        {
            using JsonDocument document = JsonDocument.Parse(_arguments.WrittenMemory, ArgumentsOptions);
            host.Invoke(function, document.RootElement, _writer);
            _writer.Flush();
            if (_writer.CurrentDepth != 0)
            {
                throw new InvalidOperationException($"The script host wrote an incomplete JSON value for {function}.");
            }
        }
        catch (ScriptHostException e)
        {
            throw Error(_engine.Intrinsics.Error, e.Message);
        }
        catch (Exception e) when (e is not JintException)
        {
            HostException ??= e;
            throw Error(_engine.Intrinsics.Error, $"{function} failed");
        }
        return _result.WrittenCount == 0 ? JsValue.Undefined : _parser.Parse(_result.WrittenSpan);
    }

    // The arguments element by element into a JSON array: undefined, a function or a symbol
    // become null, as JSON.stringify makes them in arrays.
    private void EncodeArguments(ReadOnlySpan<JsValue> arguments)
    {
        _arguments.ResetWrittenCount();
        _arguments.Write("["u8);
        _encoding = true;
        try
        {
            for (int i = 0; i < arguments.Length; i++)
            {
                if (i > 0)
                {
                    _arguments.Write(","u8);
                }
                int before = _arguments.WrittenCount;
                _serializer.Serialize(arguments[i], _arguments);
                if (_arguments.WrittenCount == before)
                {
                    _arguments.Write("null"u8);
                }
            }
        }
        finally
        {
            _encoding = false;
        }
        _arguments.Write("]"u8);
        ReplaceLoneSurrogates(System.Runtime.InteropServices.MemoryMarshal.AsMemory(_arguments.WrittenMemory).Span);
    }

    // JSON.stringify escapes a lone surrogate as \udXXX, which System.Text.Json refuses to turn into
    // a string; hosts get U+FFFD instead, as they would from any UTF-8 decoder. Same length, in place.
    private static void ReplaceLoneSurrogates(Span<byte> json)
    {
        int i = json.IndexOf((byte)'\\');
        if (i < 0)
        {
            return;
        }
        while (i < json.Length - 1)
        {
            if (json[i] != (byte)'\\')
            {
                i++;
                continue;
            }
            if (json[i + 1] != (byte)'u' || i + 6 > json.Length || !TryHex(json.Slice(i + 2, 4), out int unit) || !char.IsSurrogate((char)unit))
            {
                i += 2;
                continue;
            }
            bool paired = char.IsHighSurrogate((char)unit) && i + 12 <= json.Length && json[i + 6] == (byte)'\\' && json[i + 7] == (byte)'u' &&
                TryHex(json.Slice(i + 8, 4), out int low) && char.IsLowSurrogate((char)low);
            if (paired)
            {
                i += 12;
                continue;
            }
            "fffd"u8.CopyTo(json.Slice(i + 2, 4));
            i += 6;
        }
    }

    // What the JSON path does to a lone surrogate (ReplaceLoneSurrogates), for the typed path.
    private static string WithoutLoneSurrogates(string text)
    {
        ReadOnlySpan<char> span = text;
        int first = span.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (first < 0)
        {
            return text;
        }
        char[]? copy = null;
        for (int i = first; i < span.Length; i++)
        {
            if (char.IsHighSurrogate(span[i]) && i + 1 < span.Length && char.IsLowSurrogate(span[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(span[i]))
            {
                copy ??= span.ToArray();
                copy[i] = '\uFFFD';
            }
        }
        return copy is null ? text : new string(copy);
    }

    private static bool TryHex(ReadOnlySpan<byte> digits, out int value) =>
        int.TryParse(digits, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out value);

    private static JavaScriptException Error(ErrorConstructor type, string message) => new(type, message);
}

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
/// The one host function of an engine, <c>host(name, argumentsArray)</c>, which only the prelude
/// holds: it counts the call against the run's limits, encodes the arguments as UTF-8 JSON, hands
/// them to the run's <see cref="IScriptHost"/> and decodes its answer.
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
        Function = new ClrFunction(engine, "host", Call, 2);
        PublishFunction = new ClrFunction(engine, "publish", Publish, 4);
    }

    /// <summary>The function handed to the prelude.</summary>
    public ClrFunction Function { get; }

    /// <summary>
    /// <c>hostPublish(topic, text, qos, retain)</c>, handed to the prelude beside <see cref="Function"/>: the
    /// prelude's publish, once it has checked its arguments, without building an arguments array.
    /// </summary>
    public ClrFunction PublishFunction { get; }

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

    private JsValue Call(JsValue thisObject, JsValue[] arguments)
    {
        string function = FunctionName(arguments.Length > 0 ? arguments[0] : JsValue.Undefined);
        IScriptHost host = Count(function);
        EncodeArguments(arguments.Length > 1 ? arguments[1] : JsValue.Undefined);
        CheckSize(function);
        return Invoke(host, function);
    }

    // The prelude's publish, with its arguments checked there: (topic, text, qos, retain). Limits and
    // failures as for Call; only the JSON round trip is skipped when the host takes typed publishes.
    private JsValue Publish(JsValue thisObject, JsValue[] arguments)
    {
        IScriptHost host = Count(ScriptHostFunction.Publish);
        if (arguments is not [JsString topicValue, JsString textValue, JsNumber qosValue, JsBoolean retainValue])
        {
            // Not what the prelude passes: the host gets the values as JSON, as from Call.
            EncodeArguments(new JsArray(_engine, arguments));
            CheckSize(ScriptHostFunction.Publish);
            return Invoke(host, ScriptHostFunction.Publish);
        }
        string topic = topicValue.ToString(), text = textValue.ToString();
        // Each character is at most 6 bytes as JSON (\uXXXX); only a call that might be too large is measured.
        if ((long)(topic.Length + text.Length) * 6 + 16 > _limits.MaxHostCallBytes)
        {
            EncodeArguments(new JsArray(_engine, [topicValue, textValue, qosValue, retainValue]));
            CheckSize(ScriptHostFunction.Publish);
        }
        if (host is not IScriptPublisher publisher)
        {
            EncodeArguments(new JsArray(_engine, [topicValue, textValue, qosValue, retainValue]));
            return Invoke(host, ScriptHostFunction.Publish);
        }
        try
        {
            publisher.Publish(WithoutLoneSurrogates(topic), WithoutLoneSurrogates(text), (int)qosValue.AsNumber(), retainValue.AsBoolean());
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
        return JsValue.Undefined;
    }

    // Counts a call against the run's limits; the run's host.
    private IScriptHost Count(string function)
    {
        if (_host is null)
        {
            // e.g. a host function called from a toJSON() while the run's result is encoded
            throw Error(_engine.Intrinsics.Error, "host functions can only be called while the script runs");
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

    // The arguments array element by element, so that a toJSON the script put on
    // Array.prototype cannot turn the array itself into something else.
    private void EncodeArguments(JsValue arguments)
    {
        _arguments.ResetWrittenCount();
        _arguments.Write("["u8);
        if (arguments is JsArray array)
        {
            uint length = array.Length;
            for (uint i = 0; i < length; i++)
            {
                if (i > 0)
                {
                    _arguments.Write(","u8);
                }
                int before = _arguments.WrittenCount;
                _serializer.Serialize(array[i], _arguments);
                if (_arguments.WrittenCount == before)
                {
                    _arguments.Write("null"u8); // undefined, a function or a symbol, as JSON.stringify does in arrays
                }
            }
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

    // The prelude calls a handful of names; the constants let the limits compare by reference.
    private static string FunctionName(JsValue name) => name.IsString() ? name.AsString() switch
    {
        ScriptHostFunction.Publish => ScriptHostFunction.Publish,
        ScriptHostFunction.DbQuery => ScriptHostFunction.DbQuery,
        ScriptHostFunction.DbExec => ScriptHostFunction.DbExec,
        ScriptHostFunction.KvGet => ScriptHostFunction.KvGet,
        ScriptHostFunction.KvSet => ScriptHostFunction.KvSet,
        ScriptHostFunction.KvRemove => ScriptHostFunction.KvRemove,
        ScriptHostFunction.Log => ScriptHostFunction.Log,
        ScriptHostFunction.GpioRead => ScriptHostFunction.GpioRead,
        ScriptHostFunction.GpioWrite => ScriptHostFunction.GpioWrite,
        string other => other,
    } : "host";
}

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace IoTPE.Scripting.Interop;

/// <summary>
/// The managed end of host calls for one heap. The shim's native bridge (iotpe_host_bridge in
/// iotpe_duk.c) JSON-encodes a script's call and calls <see cref="OnHostCall"/> with plain bytes;
/// this class hands the call to the run's <see cref="IScriptHost"/> and answers through
/// <c>iotpe_host_reply</c>, which only copies bytes.
/// </summary>
/// <remarks>
/// This callback runs with Duktape frames below it, so nothing here may call a Duktape function
/// that can throw (a longjmp across this frame would crash the process; see iotpe_duk.c), and no
/// exception may leave <see cref="OnHostCall"/> (it would cross native frames). The native side
/// pushes the answer or throws the error in C, after this method has returned.
/// </remarks>
internal sealed unsafe class HostCallBridge
{
    // As deep as Duktape's JSON encoder goes (DUK_USE_JSON_ENC_RECLIMIT), so that any value a
    // script can encode, e.g. for kv.set, reaches the host.
    private static readonly JsonDocumentOptions ArgumentsOptions = new() { MaxDepth = 1000 };

    private readonly ArrayBufferWriter<byte> _result = new(256);
    private readonly Utf8JsonWriter _writer;
    private IScriptHost? _host;

    public HostCallBridge()
    {
        _writer = new Utf8JsonWriter(_result);
    }

    /// <summary>The native heap this bridge answers for; set once the heap exists.</summary>
    public nint Heap { get; set; }

    /// <summary>The first unexpected exception of the current run's host (see <see cref="ScriptRunResult.HostException"/>).</summary>
    public Exception? HostException { get; private set; }

    /// <summary>The native callback, passed to <c>iotpe_heap_create</c>.</summary>
    public static delegate* unmanaged[Cdecl]<nint, byte*, nuint, byte*, nuint, void> Callback => &OnHostCall;

    public void BeginRun(IScriptHost host)
    {
        _host = host;
        HostException = null;
    }

    public void EndRun() => _host = null;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnHostCall(nint state, byte* function, nuint functionLength, byte* arguments, nuint argumentsLength)
    {
        HostCallBridge? bridge = null;
        try
        {
            bridge = (HostCallBridge)GCHandle.FromIntPtr(state).Target!;
            bridge.Dispatch(
                new ReadOnlySpan<byte>(function, checked((int)functionLength)),
                new ReadOnlySpan<byte>(arguments, checked((int)argumentsLength)));
        }
        catch (Exception e)
        {
            // Dispatch catches the host's exceptions; this is for failures of the bridge itself.
            if (bridge is not null)
            {
                bridge.HostException ??= e;
                bridge.ReplyError("host call failed");
            }
        }
    }

    private void Dispatch(ReadOnlySpan<byte> functionCesu8, ReadOnlySpan<byte> argumentsCesu8)
    {
        string function = FunctionName(functionCesu8);
        if (_host is null)
        {
            ReplyError($"{function}: no host is attached to this run");
            return;
        }

        _result.ResetWrittenCount();
        _writer.Reset(_result);
        try
        {
            using JsonDocument arguments = JsonDocument.Parse(Cesu8.ToUtf8(argumentsCesu8), ArgumentsOptions);
            _host.Invoke(function, arguments.RootElement, _writer);
            _writer.Flush();
            if (_writer.CurrentDepth != 0)
            {
                throw new InvalidOperationException($"The script host wrote an incomplete JSON value for {function}.");
            }
        }
        catch (ScriptHostException e)
        {
            ReplyError(e.Message);
            return;
        }
        catch (Exception e)
        {
            HostException ??= e;
            ReplyError($"{function} failed");
            return;
        }

        if (_result.WrittenCount > 0)
        {
            Reply(DuktapeNative.ReplyJson, Cesu8.FromUtf8(_result.WrittenSpan));
        }
    }

    private void ReplyError(string message) => Reply(DuktapeNative.ReplyError, Cesu8.Encode(message));

    private void Reply(int kind, ReadOnlySpan<byte> data)
    {
        fixed (byte* bytes = data)
        {
            DuktapeNative.iotpe_host_reply(Heap, kind, bytes, (nuint)data.Length);
        }
    }

    // The prelude calls a handful of names; avoid a string allocation per call for them.
    private static string FunctionName(ReadOnlySpan<byte> name) => name switch
    {
        _ when name.SequenceEqual("publish"u8) => ScriptHostFunction.Publish,
        _ when name.SequenceEqual("db.query"u8) => ScriptHostFunction.DbQuery,
        _ when name.SequenceEqual("db.exec"u8) => ScriptHostFunction.DbExec,
        _ when name.SequenceEqual("kv.get"u8) => ScriptHostFunction.KvGet,
        _ when name.SequenceEqual("kv.set"u8) => ScriptHostFunction.KvSet,
        _ when name.SequenceEqual("kv.remove"u8) => ScriptHostFunction.KvRemove,
        _ when name.SequenceEqual("log"u8) => ScriptHostFunction.Log,
        _ => Cesu8.Decode(name),
    };
}

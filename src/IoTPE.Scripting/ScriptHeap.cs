using System.Text;
using System.Text.RegularExpressions;
using IoTPE.Scripting.Interop;

namespace IoTPE.Scripting;

/// <summary>
/// One Duktape heap: an isolated JavaScript world with its own memory cap and run deadline. Not
/// thread-safe: one thread uses a heap at a time.
/// </summary>
public sealed partial class ScriptHeap : IDisposable
{
    private nint _heap;
    private readonly nint _ctx;
    private readonly ScriptLimits _limits;

    private ScriptHeap(nint heap, ScriptLimits limits)
    {
        _heap = heap;
        _ctx = DuktapeNative.iotpe_heap_context(heap);
        _limits = limits;
    }

    /// <summary>The script engine's (Duktape's) version, e.g. <c>2.7.0</c>.</summary>
    public static string EngineVersion
    {
        get
        {
            long v = DuktapeNative.iotpe_version();
            return $"{v / 10000}.{v % 10000 / 100}.{v % 100}";
        }
    }

    /// <summary>Creates a heap with the given limits.</summary>
    /// <exception cref="InvalidOperationException">The engine could not create a heap (out of memory).</exception>
    public static ScriptHeap Create(ScriptLimits? limits = null)
    {
        limits ??= ScriptLimits.Default;
        nint heap = DuktapeNative.iotpe_heap_create((nuint)limits.MemoryLimitBytes);
        if (heap == 0)
        {
            throw new InvalidOperationException("The script engine could not create a heap.");
        }
        return new ScriptHeap(heap, limits);
    }

    /// <summary>Bytes the heap holds now.</summary>
    public long MemoryUsed => (long)DuktapeNative.iotpe_heap_used(Handle);

    /// <summary>
    /// Compiles <paramref name="source"/> without running it.
    /// </summary>
    /// <returns><see langword="null"/> when the script compiles, else the error and its position.</returns>
    public ScriptError? Check(ScriptSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        nint ctx = _ctx;
        int top = DuktapeNative.duk_get_top(ctx);
        DuktapeNative.iotpe_heap_begin_run(Handle, (long)_limits.RunTimeout.TotalMilliseconds);
        try
        {
            int rc = Compile(source);
            if (rc == 0)
            {
                return null;
            }
            long offset = DuktapeNative.iotpe_error_source_offset(ctx, -1);
            return new ScriptError(
                StripDuktapeLineSuffix(ToDisplayString(-1)),
                offset >= 0 ? source.PositionOfCompiledOffset(offset) : null);
        }
        finally
        {
            DuktapeNative.iotpe_heap_end_run(Handle);
            DuktapeNative.duk_set_top(ctx, top);
        }
    }

    /// <summary>Releases the heap and everything in it.</summary>
    public void Dispose()
    {
        if (_heap != 0)
        {
            DuktapeNative.iotpe_heap_destroy(_heap);
            _heap = 0;
        }
    }

    private nint Handle => _heap != 0 ? _heap : throw new ObjectDisposedException(nameof(ScriptHeap));

    private unsafe int Compile(ScriptSource source)
    {
        byte[] fileName = Encoding.UTF8.GetBytes(source.Name + "\0");
        fixed (byte* text = source.CompiledUtf8)
        fixed (byte* name = fileName)
        {
            return DuktapeNative.iotpe_compile(_ctx, text, (nuint)source.CompiledUtf8.Length, name, DuktapeNative.DUK_COMPILE_FUNCTION);
        }
    }

    private unsafe string ToDisplayString(int index)
    {
        byte* text = DuktapeNative.duk_safe_to_lstring(_ctx, index, out nuint length);
        return Cesu8.Decode(text, length);
    }

    // Duktape appends " (line N)" or " (line N, end of input)" for the wrapped text; IoTPE reports
    // its own position in the author's text instead.
    private static string StripDuktapeLineSuffix(string message) => DuktapeLineSuffix().Replace(message, string.Empty);

    [GeneratedRegex(@" \(line \d+(, end of input)?\)$")]
    private static partial Regex DuktapeLineSuffix();
}

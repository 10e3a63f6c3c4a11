using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using IoTPE.Scripting.Interop;
using IoTPE.Scripting.Prelude;

namespace IoTPE.Scripting;

/// <summary>
/// One Duktape heap: an isolated JavaScript world with its own memory cap and run deadline, the
/// script API (publish, db, kv, log, console) and the scripts loaded into it. Used by one thread
/// at a time (a second concurrent use throws instead of corrupting the heap).
/// </summary>
/// <remarks>
/// Deep recursion in the engine's C code (nested source text, JSON, regular expressions,
/// native-call chains) is stopped with an error before the calling thread's native stack runs
/// out, whatever its size; <see cref="ScriptRuntime"/> still runs scripts on threads with large
/// stacks so that scripts get Duktape's full recursion limits.
/// </remarks>
public sealed partial class ScriptHeap : IDisposable
{
    private readonly ScriptLimits _limits;
    private readonly HostCallBridge _bridge;
    private readonly Lock _handleLock = new();
    private readonly Dictionary<string, LoadedScript> _loaded = new(StringComparer.Ordinal);
    private GCHandle _bridgeHandle;
    private nint _heap;
    private int _busy;
    private long _useClock;

    private ScriptHeap(nint heap, ScriptLimits limits, HostCallBridge bridge, GCHandle bridgeHandle)
    {
        _heap = heap;
        _limits = limits;
        _bridge = bridge;
        _bridgeHandle = bridgeHandle;
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

    /// <summary>The limits this heap enforces.</summary>
    public ScriptLimits Limits => _limits;

    /// <summary>Bytes the heap holds now.</summary>
    public long MemoryUsed => (long)DuktapeNative.iotpe_heap_used(Handle);

    /// <summary>
    /// Whether the heap should be replaced before its next run: a run timed out, ran out of
    /// memory or was interrupted, or the engine failed outside a script. Such a heap is still
    /// safe to use and to dispose, but its global state may be left half-changed or full.
    /// </summary>
    public bool NeedsRebuild { get; private set; }

    /// <summary>The keys of the scripts loaded in this heap.</summary>
    public IReadOnlyCollection<string> LoadedScripts => _loaded.Keys;

    /// <summary>Creates a heap with the given limits and runs the prelude (the script API) in it.</summary>
    /// <exception cref="InvalidOperationException">The engine could not create or set up a heap (out of memory).</exception>
    public static unsafe ScriptHeap Create(ScriptLimits? limits = null)
    {
        limits ??= ScriptLimits.Default;
        limits.Validate();
        var bridge = new HostCallBridge();
        GCHandle bridgeHandle = GCHandle.Alloc(bridge);
        nint heap = DuktapeNative.iotpe_heap_create((nuint)limits.MemoryLimitBytes, HostCallBridge.Callback, GCHandle.ToIntPtr(bridgeHandle));
        if (heap == 0)
        {
            bridgeHandle.Free();
            throw new InvalidOperationException("The script engine could not create a heap.");
        }
        bridge.Heap = heap;
        DuktapeNative.iotpe_heap_set_limits(heap, limits.MaxHostCallsPerRun, limits.MaxPublishesPerRun,
            (nuint)limits.MaxHostCallBytes, (nuint)limits.MaxResultBytes);
        byte[] prelude = ScriptPrelude.Text;
        int outcome;
        fixed (byte* text = prelude)
        {
            outcome = DuktapeNative.iotpe_heap_init(heap, text, (nuint)prelude.Length, limits.RunTimeoutMilliseconds);
        }
        if (outcome != DuktapeNative.Ok)
        {
            string message = ErrorMessage(heap) ?? "unknown error";
            DuktapeNative.iotpe_heap_destroy(heap);
            bridgeHandle.Free();
            throw new InvalidOperationException($"The script engine could not set up a heap: {message}");
        }
        return new ScriptHeap(heap, limits, bridge, bridgeHandle);
    }

    /// <summary>Compiles <paramref name="source"/> without running or keeping it.</summary>
    /// <returns><see langword="null"/> when the script compiles, else the error and its position.</returns>
    public unsafe ScriptError? Check(ScriptSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Enter();
        try
        {
            byte[] fileName = FileName(source);
            int outcome;
            fixed (byte* text = source.CompiledUtf8)
            fixed (byte* name = fileName)
            {
                outcome = DuktapeNative.iotpe_check(_heap, text, (nuint)source.CompiledUtf8.Length, name, _limits.RunTimeoutMilliseconds);
            }
            return CompileError(outcome, source);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Compiles <paramref name="source"/> and keeps it under <paramref name="scriptKey"/>, replacing
    /// what was loaded under that key. The key names one version of one script (e.g.
    /// <c>calc@3</c>): its text must not change. When <see cref="ScriptLimits.MaxLoadedScripts"/>
    /// are loaded, the least recently used one is unloaded first.
    /// </summary>
    /// <returns><see langword="null"/> when loaded, else the compile error with line and column (nothing was changed).</returns>
    public unsafe ScriptError? Load(string scriptKey, ScriptSource source)
    {
        ArgumentException.ThrowIfNullOrEmpty(scriptKey);
        ArgumentNullException.ThrowIfNull(source);
        Enter();
        try
        {
            if (_loaded.Count >= _limits.MaxLoadedScripts && !_loaded.ContainsKey(scriptKey))
            {
                UnloadLeastRecentlyUsed();
            }
            byte[] key = Cesu8.Encode(scriptKey);
            byte[] fileName = FileName(source);
            int outcome;
            fixed (byte* keyBytes = key)
            fixed (byte* text = source.CompiledUtf8)
            fixed (byte* name = fileName)
            {
                outcome = DuktapeNative.iotpe_load(_heap, keyBytes, (nuint)key.Length, text, (nuint)source.CompiledUtf8.Length, name,
                    _limits.RunTimeoutMilliseconds);
            }
            ScriptError? error = CompileError(outcome, source);
            if (error is null)
            {
                _loaded[scriptKey] = new LoadedScript(source, key) { LastUse = ++_useClock };
            }
            return error;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Whether a script is loaded under <paramref name="scriptKey"/>.</summary>
    public bool IsLoaded(string scriptKey) => _loaded.ContainsKey(scriptKey);

    /// <summary>Forgets the script loaded under <paramref name="scriptKey"/>, if any.</summary>
    public void Unload(string scriptKey)
    {
        ArgumentNullException.ThrowIfNull(scriptKey);
        Enter();
        try
        {
            UnloadCore(scriptKey);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Runs the script loaded under <paramref name="scriptKey"/> with <paramref name="messageJson"/>
    /// (UTF-8 JSON) as its <c>message</c> parameter; its host calls go to <paramref name="host"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing is loaded under <paramref name="scriptKey"/>.</exception>
    public ScriptRunResult Run(string scriptKey, ReadOnlySpan<byte> messageJson, IScriptHost host)
    {
        ArgumentNullException.ThrowIfNull(scriptKey);
        ArgumentNullException.ThrowIfNull(host);
        return RunCore(scriptKey, Cesu8.FromUtf8(messageJson), host);
    }

    /// <summary>
    /// Runs the script loaded under <paramref name="scriptKey"/> with <paramref name="messageJson"/>
    /// as its <c>message</c> parameter; its host calls go to <paramref name="host"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing is loaded under <paramref name="scriptKey"/>.</exception>
    public ScriptRunResult Run(string scriptKey, string messageJson, IScriptHost host)
    {
        ArgumentNullException.ThrowIfNull(scriptKey);
        ArgumentNullException.ThrowIfNull(messageJson);
        ArgumentNullException.ThrowIfNull(host);
        return RunCore(scriptKey, Cesu8.Encode(messageJson), host);
    }

    /// <summary>Runs a full garbage collection (reference counting already frees most garbage at once).</summary>
    public void CollectGarbage()
    {
        Enter();
        try
        {
            DuktapeNative.iotpe_heap_collect(_heap);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Releases the heap and everything in it.</summary>
    /// <exception cref="InvalidOperationException">The heap is in use (e.g. disposed from a host call).</exception>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            if (Volatile.Read(ref _heap) == 0)
            {
                return; // already disposed
            }
            throw new InvalidOperationException("A script heap cannot be disposed while it is running.");
        }
        lock (_handleLock)
        {
            if (_heap != 0)
            {
                DuktapeNative.iotpe_heap_destroy(_heap);
                _heap = 0;
                _bridgeHandle.Free();
                _loaded.Clear();
            }
        }
        // Stays busy: any later use fails with ObjectDisposedException in Enter().
    }

    /// <summary>Whether <paramref name="source"/> is what is loaded under <paramref name="scriptKey"/>.</summary>
    internal bool IsLoaded(string scriptKey, ScriptSource source) =>
        _loaded.TryGetValue(scriptKey, out LoadedScript? loaded) &&
        (ReferenceEquals(loaded.Source, source) || (loaded.Source.Text == source.Text && loaded.Source.Name == source.Name));

    /// <summary>Asks the run in progress (or the next one) to stop as if it timed out. Any thread.</summary>
    internal void RequestInterrupt()
    {
        lock (_handleLock)
        {
            if (_heap != 0)
            {
                DuktapeNative.iotpe_heap_interrupt(_heap);
            }
        }
    }

    /// <summary>Withdraws an interrupt request that no run has seen yet.</summary>
    internal void ClearInterrupt()
    {
        lock (_handleLock)
        {
            if (_heap != 0)
            {
                DuktapeNative.iotpe_heap_clear_interrupt(_heap);
            }
        }
    }

    private nint Handle => _heap != 0 ? _heap : throw new ObjectDisposedException(nameof(ScriptHeap));

    private unsafe ScriptRunResult RunCore(string scriptKey, ReadOnlySpan<byte> messageCesu8, IScriptHost host)
    {
        Enter();
        try
        {
            if (!_loaded.TryGetValue(scriptKey, out LoadedScript? script))
            {
                throw new InvalidOperationException($"No script is loaded under '{scriptKey}'.");
            }
            script.LastUse = ++_useClock;
            _bridge.BeginRun(host);
            int outcome;
            long started = Stopwatch.GetTimestamp();
            fixed (byte* key = script.Key)
            fixed (byte* message = messageCesu8)
            {
                outcome = DuktapeNative.iotpe_run(_heap, key, (nuint)script.Key.Length, message, (nuint)messageCesu8.Length,
                    _limits.RunTimeoutMilliseconds);
            }
            TimeSpan duration = Stopwatch.GetElapsedTime(started);
            if (outcome == DuktapeNative.NotLoaded)
            {
                throw new InvalidOperationException($"The script under '{scriptKey}' is missing from the engine.");
            }
            return RunResult(outcome, duration);
        }
        finally
        {
            _bridge.EndRun();
            Exit();
        }
    }

    private unsafe ScriptRunResult RunResult(int outcome, TimeSpan duration)
    {
        bool interrupted = DuktapeNative.iotpe_heap_interrupted(_heap) != 0;
        bool timedOut = DuktapeNative.iotpe_heap_timed_out(_heap) != 0;
        bool allocationRefused = DuktapeNative.iotpe_heap_allocation_refused(_heap) != 0;

        ScriptRunStatus status = outcome switch
        {
            _ when timedOut || interrupted => ScriptRunStatus.TimedOut,
            DuktapeNative.Ok => ScriptRunStatus.Completed,
            DuktapeNative.BadMessage => ScriptRunStatus.InvalidMessage,
            _ when allocationRefused => ScriptRunStatus.OutOfMemory,
            _ => ScriptRunStatus.Threw,
        };
        if (status is ScriptRunStatus.TimedOut or ScriptRunStatus.OutOfMemory || allocationRefused || outcome == DuktapeNative.EngineError)
        {
            NeedsRebuild = true;
        }

        string? resultJson = null;
        ScriptError? error = null;
        if (status == ScriptRunStatus.Completed)
        {
            byte* json = DuktapeNative.iotpe_heap_result_json(_heap, out nuint length);
            resultJson = json == null ? null : Cesu8.Decode(json, length);
        }
        else
        {
            long line = DuktapeNative.iotpe_heap_error_line(_heap);
            string message = status switch
            {
                ScriptRunStatus.TimedOut when interrupted => "RangeError: execution interrupted",
                ScriptRunStatus.TimedOut => $"RangeError: execution timeout: the script ran longer than {_limits.RunTimeoutMilliseconds} ms",
                ScriptRunStatus.OutOfMemory => $"RangeError: out of memory: the script's heap reached its limit of {_limits.MemoryLimitBytes} bytes",
                _ => ErrorMessage(_heap) ?? "Error: the script failed",
            };
            error = new ScriptError(message, line > 0 ? new SourcePosition((int)Math.Min(line, int.MaxValue), null) : null);
        }

        return new ScriptRunResult
        {
            Status = status,
            ResultJson = resultJson,
            Error = error,
            Duration = duration,
            MemoryUsed = (long)DuktapeNative.iotpe_heap_used(_heap),
            PeakMemoryUsed = (long)DuktapeNative.iotpe_heap_peak(_heap),
            HostException = _bridge.HostException,
            Interrupted = interrupted,
        };
    }

    private ScriptError? CompileError(int outcome, ScriptSource source)
    {
        if (outcome == DuktapeNative.Ok)
        {
            return null;
        }
        if (DuktapeNative.iotpe_heap_allocation_refused(_heap) != 0 || outcome == DuktapeNative.EngineError)
        {
            NeedsRebuild = true;
        }
        if (DuktapeNative.iotpe_heap_allocation_refused(_heap) != 0)
        {
            return new ScriptError($"RangeError: out of memory: the script does not compile within the heap's limit of {_limits.MemoryLimitBytes} bytes", null);
        }
        long offset = DuktapeNative.iotpe_heap_error_offset(_heap);
        return new ScriptError(
            StripDuktapeLineSuffix(ErrorMessage(_heap) ?? "SyntaxError: the script does not compile"),
            offset >= 0 ? source.PositionOfCompiledOffset(offset) : null);
    }

    private void UnloadLeastRecentlyUsed()
    {
        string? oldest = null;
        long oldestUse = long.MaxValue;
        foreach ((string key, LoadedScript script) in _loaded)
        {
            if (script.LastUse < oldestUse)
            {
                oldest = key;
                oldestUse = script.LastUse;
            }
        }
        if (oldest is not null)
        {
            UnloadCore(oldest);
        }
    }

    private unsafe void UnloadCore(string scriptKey)
    {
        if (!_loaded.Remove(scriptKey, out LoadedScript? script))
        {
            return;
        }
        fixed (byte* key = script.Key)
        {
            if (DuktapeNative.iotpe_unload(_heap, key, (nuint)script.Key.Length) != DuktapeNative.Ok)
            {
                NeedsRebuild = true;
            }
        }
    }

    private void Enter()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            ObjectDisposedException.ThrowIf(_heap == 0, this);
            throw new InvalidOperationException(
                "This script heap is already in use: a heap runs one thing at a time (and a host call cannot use the heap that called it).");
        }
        if (_heap == 0)
        {
            Volatile.Write(ref _busy, 0);
            throw new ObjectDisposedException(nameof(ScriptHeap));
        }
    }

    private void Exit() => Volatile.Write(ref _busy, 0);

    private static unsafe string? ErrorMessage(nint heap)
    {
        byte* message = DuktapeNative.iotpe_heap_error_message(heap, out nuint length);
        return message == null ? null : Cesu8.Decode(message, length);
    }

    private static byte[] FileName(ScriptSource source) => Cesu8.Encode(source.Name + "\0");

    // Duktape appends " (line N)" or " (line N, end of input)" for the wrapped text; IoTPE reports
    // its own position in the author's text instead.
    private static string StripDuktapeLineSuffix(string message) => DuktapeLineSuffix().Replace(message, string.Empty);

    [GeneratedRegex(@" \(line \d+(, end of input)?\)$")]
    private static partial Regex DuktapeLineSuffix();

    /// <summary>A script compiled into this heap: its source, its key as the engine stores it, when it was last used.</summary>
    private sealed class LoadedScript(ScriptSource source, byte[] key)
    {
        public ScriptSource Source { get; } = source;

        public byte[] Key { get; } = key;

        public long LastUse { get; set; }
    }
}

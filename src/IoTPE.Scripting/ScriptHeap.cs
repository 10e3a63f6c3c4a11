using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using IoTPE.Scripting.Sandbox;
using Jint;
using Jint.Native;
using Jint.Native.Json;
using Jint.Runtime;

namespace IoTPE.Scripting;

/// <summary>
/// One account's JavaScript world: a Jint engine with its own realm (globals, prototypes, the
/// script API), the run limits, and the scripts loaded into it. Used by one thread at a time (a
/// second concurrent use throws instead of corrupting the engine).
/// </summary>
/// <remarks>
/// Scripts are parsed once when loaded; the engine behind the heap is renewed, without parsing
/// again, after a run that did not end cleanly (timeout, memory, recursion, interruption) and after
/// its runs together allocated four times <see cref="ScriptLimits.MemoryLimitBytes"/>. Recursion
/// is bounded in depth and checked against the thread's native stack, so it ends with an error on
/// any stack; <see cref="ScriptRuntime"/>'s workers have large stacks so that scripts get the full depth.
/// </remarks>
public sealed class ScriptHeap : IDisposable
{
    private readonly ScriptLimits _limits;
    private readonly RunBudget _budget = new();
    private readonly Dictionary<string, LoadedScript> _loaded = new(StringComparer.Ordinal);
    private SandboxEngine? _engine;
    private bool _renewEngine;
    private int _busy;
    private bool _disposed;
    private long _useClock;

    private ScriptHeap(ScriptLimits limits)
    {
        _limits = limits;
    }

    /// <summary>The script engine's (Jint's) version, e.g. <c>4.18.0</c>.</summary>
    public static string EngineVersion { get; } =
        (typeof(Engine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(Engine).Assembly.GetName().Version?.ToString() ?? "unknown").Split('+')[0];

    /// <summary>The limits this heap enforces.</summary>
    public ScriptLimits Limits => _limits;

    /// <summary>Managed bytes the current engine has allocated since it was created (its setup and its runs).</summary>
    public long AllocatedBytes => _disposed ? throw new ObjectDisposedException(nameof(ScriptHeap)) : _engine?.AllocatedBytes ?? 0;

    /// <summary>
    /// Whether the engine will be renewed before the next run: a run timed out, ran out of memory,
    /// overflowed the call stack or was interrupted. The heap stays safe to use (it renews itself);
    /// <see cref="ScriptRuntime"/> replaces such a heap.
    /// </summary>
    public bool NeedsRebuild => _renewEngine;

    /// <summary>The keys of the scripts loaded in this heap.</summary>
    public IReadOnlyCollection<string> LoadedScripts => _loaded.Keys;

    /// <summary>Creates a heap with the given limits and the script API in it.</summary>
    /// <exception cref="InvalidOperationException">The engine could not set up the script API.</exception>
    public static ScriptHeap Create(ScriptLimits? limits = null)
    {
        limits ??= ScriptLimits.Default;
        limits.Validate();
        var heap = new ScriptHeap(limits);
        heap._engine = SandboxEngine.Create(limits, heap._budget);
        return heap;
    }

    /// <summary>Parses <paramref name="source"/> without running or keeping it.</summary>
    /// <returns><see langword="null"/> when the script compiles, else the error and its position.</returns>
    public ScriptError? Check(ScriptSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Enter();
        try
        {
            CompiledScript.Compile(source, out ScriptError? error);
            return error;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Parses <paramref name="source"/> as <see cref="Check"/> does, without a heap: parsing needs no engine.</summary>
    /// <returns><see langword="null"/> when the script compiles, else the error and its position.</returns>
    public static ScriptError? CheckSource(ScriptSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        CompiledScript.Compile(source, out ScriptError? error);
        return error;
    }

    /// <summary>
    /// Compiles <paramref name="source"/> and keeps it under <paramref name="scriptKey"/>, replacing
    /// what was loaded under that key. The key names one version of one script (e.g.
    /// <c>calc@3</c>): its text must not change. When <see cref="ScriptLimits.MaxLoadedScripts"/>
    /// are loaded, the least recently used one is unloaded first.
    /// </summary>
    /// <returns><see langword="null"/> when loaded, else the compile error with line and column (nothing was changed).</returns>
    public ScriptError? Load(string scriptKey, ScriptSource source)
    {
        ArgumentException.ThrowIfNullOrEmpty(scriptKey);
        ArgumentNullException.ThrowIfNull(source);
        Enter();
        try
        {
            CompiledScript? compiled = CompiledScript.Compile(source, out ScriptError? error);
            if (compiled is null)
            {
                return error;
            }
            if (_loaded.Count >= _limits.MaxLoadedScripts && !_loaded.ContainsKey(scriptKey))
            {
                UnloadLeastRecentlyUsed();
            }
            UnloadCore(scriptKey);
            _loaded[scriptKey] = new LoadedScript(compiled) { LastUse = ++_useClock };
            return null;
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
        if (!System.Text.Unicode.Utf8.IsValid(messageJson))
        {
            // Malformed UTF-8 becomes U+FFFD, as any decoder of a message would make it.
            return RunMessage(scriptKey, Encoding.UTF8.GetString(messageJson), host);
        }
        Enter();
        try
        {
            LoadedScript script = Find(scriptKey);
            SandboxEngine engine = CurrentEngine();
            JsValue message;
            try
            {
                // Valid UTF-8 is read as it is, without decoding it to a string first, into objects
                // without hidden classes (see MessageReader); what it does not take, Jint's parser does.
                if (!MessageReader.TryRead(engine.Engine, engine.MessageParser, messageJson, out message))
                {
                    message = engine.MessageParser.Parse(messageJson);
                }
            }
            catch (JavaScriptException)
            {
                // Not JSON: the decoded text decides, so the error (and its position) is the text's.
                try
                {
                    message = engine.MessageParser.Parse(Encoding.UTF8.GetString(messageJson));
                }
                catch (JavaScriptException e)
                {
                    return InvalidMessage(e);
                }
            }
            return RunCore(engine, script, message, host);
        }
        finally
        {
            Exit();
        }
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
        return RunMessage(scriptKey, messageJson, host);
    }

    /// <summary>
    /// Runs the script loaded under <paramref name="scriptKey"/> with <paramref name="message"/> as its
    /// <c>message</c> parameter (the object the JSON of such a message would give); its host calls go
    /// to <paramref name="host"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Nothing is loaded under <paramref name="scriptKey"/>.</exception>
    public ScriptRunResult Run(string scriptKey, RunMessage message, IScriptHost host)
    {
        ArgumentNullException.ThrowIfNull(scriptKey);
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(host);
        Enter();
        try
        {
            LoadedScript script = Find(scriptKey);
            SandboxEngine engine = CurrentEngine();
            return RunCore(engine, script, RunMessageObject.Create(engine.Engine, message), host);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Releases the engine and everything in it.</summary>
    /// <exception cref="InvalidOperationException">The heap is in use (e.g. disposed from a host call).</exception>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            if (Volatile.Read(ref _disposed))
            {
                return;
            }
            throw new InvalidOperationException("A script heap cannot be disposed while it is running.");
        }
        if (!_disposed)
        {
            _disposed = true;
            _engine?.Dispose();
            _engine = null;
            _loaded.Clear();
        }
        // Stays busy: any later use fails with ObjectDisposedException in Enter().
    }

    /// <summary>Whether <paramref name="source"/> is what is loaded under <paramref name="scriptKey"/>.</summary>
    internal bool IsLoaded(string scriptKey, ScriptSource source) =>
        _loaded.TryGetValue(scriptKey, out LoadedScript? loaded) &&
        (ReferenceEquals(loaded.Script.Source, source) || (loaded.Script.Source.Text == source.Text && loaded.Script.Source.Name == source.Name));

    /// <summary>Asks the run in progress (or the next one) to stop as if it timed out. Any thread.</summary>
    internal void RequestInterrupt() => _budget.RequestInterrupt();

    /// <summary>Withdraws an interrupt request that no run has seen yet.</summary>
    internal void ClearInterrupt() => _budget.ClearInterrupt();

    private ScriptRunResult RunMessage(string scriptKey, string messageJson, IScriptHost host)
    {
        Enter();
        try
        {
            LoadedScript script = Find(scriptKey);
            SandboxEngine engine = CurrentEngine();
            JsValue message;
            try
            {
                if (!MessageReader.TryRead(engine.Engine, engine.MessageParser, messageJson, out message))
                {
                    message = engine.MessageParser.Parse(messageJson);
                }
            }
            catch (JavaScriptException e)
            {
                return InvalidMessage(e);
            }
            return RunCore(engine, script, message, host);
        }
        finally
        {
            Exit();
        }
    }

    private LoadedScript Find(string scriptKey)
    {
        if (!_loaded.TryGetValue(scriptKey, out LoadedScript? script))
        {
            throw new InvalidOperationException($"No script is loaded under '{scriptKey}'.");
        }
        script.LastUse = ++_useClock;
        return script;
    }

    private SandboxEngine CurrentEngine()
    {
        if (_engine is null || _renewEngine || _engine.AllocatedBytes > _limits.EngineRenewalBytes)
        {
            _engine?.Dispose();
            _engine = null;
            _engine = SandboxEngine.Create(_limits, _budget);
            _renewEngine = false;
        }
        return _engine;
    }

    private ScriptRunResult RunCore(SandboxEngine sandbox, LoadedScript loaded, JsValue message, IScriptHost host)
    {
        CompiledScript script = loaded.Script;
        Engine engine = sandbox.Engine;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        long started = Stopwatch.GetTimestamp();
        sandbox.Bridge.BeginRun(host);
        sandbox.Memory.Begin(_limits.MemoryLimitBytes);
        _budget.Begin(_limits.RunTimeout);
        ScriptRunStatus status;
        string? resultJson = null;
        ScriptError? error = null;
        try
        {
            JsValue function = sandbox.FunctionOf(script);
            JsValue result = Settle(engine, engine.Invoke(function, JsValue.Undefined, [message]));
            // No host calls from here on (a toJSON calling publish gets an Error), but the budget still counts.
            sandbox.Bridge.EndRun();
            (status, resultJson, error) = Encode(sandbox, result);
        }
        catch (JavaScriptException e)
        {
            status = ScriptRunStatus.Threw;
            error = ScriptErrorReader.FromThrown(e, script, engine);
        }
        catch (PromiseRejectedException e)
        {
            status = ScriptRunStatus.Threw;
            error = ScriptErrorReader.FromRejection(e.RejectedValue, script, engine);
        }
        catch (OperationCanceledException e) when (e.CancellationToken == AlreadyCanceled)
        {
            status = ScriptRunStatus.Threw;
            error = new ScriptError(
                "Error: the script's promise never settled: a run ends when its code and the promise jobs it queued are done (there are no timers)", null);
        }
        catch (Exception e) when (Stopped(e) is { } stopped)
        {
            _renewEngine = true;
            status = stopped.Status;
            error = ScriptErrorReader.Stopped(stopped.Message, e, script);
        }
        finally
        {
            _budget.End();
            sandbox.Memory.End();
            sandbox.Bridge.EndRun();
        }
        TimeSpan duration = Stopwatch.GetElapsedTime(started);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        sandbox.AllocatedBytes += allocated;
        bool interrupted = _budget.Interrupted && status == ScriptRunStatus.TimedOut;
        return new ScriptRunResult
        {
            Status = status,
            ResultJson = resultJson,
            Error = error,
            Duration = duration,
            AllocatedBytes = allocated,
            HostException = sandbox.Bridge.HostException,
            Interrupted = interrupted,
        };
    }

    // Runs the promise jobs the run queued and takes the value of a promise the script returned
    // (an async script returns one). There are no timers, so a promise still pending once the jobs
    // are done never settles: the pre-canceled token makes Jint say so instead of waiting.
    private static JsValue Settle(Engine engine, JsValue result)
    {
        engine.Advanced.ProcessTasks();
        return result.UnwrapIfPromise(AlreadyCanceled);
    }

    private static readonly CancellationToken AlreadyCanceled = new(canceled: true);

    private (ScriptRunStatus, string?, ScriptError?) Encode(SandboxEngine sandbox, JsValue result)
    {
        Engine engine = sandbox.Engine;
        if (result.IsUndefined())
        {
            return (ScriptRunStatus.Completed, null, null);
        }
        JsValue json;
        try
        {
            json = sandbox.ResultSerializer.Serialize(result);
        }
        catch (JavaScriptException e)
        {
            return (ScriptRunStatus.Threw, null, new ScriptError(
                "the return value cannot be encoded as JSON: " + ScriptErrorReader.Describe(e.Error, engine), null));
        }
        if (!json.IsString())
        {
            return (ScriptRunStatus.Completed, null, null); // a function or a symbol: no JSON, as for undefined
        }
        string text = json.AsString();
        int bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > _limits.MaxResultBytes)
        {
            return (ScriptRunStatus.Threw, null, new ScriptError(
                $"RangeError: the return value is {bytes} bytes as JSON, the limit is {_limits.MaxResultBytes}", null));
        }
        return (ScriptRunStatus.Completed, text, null);
    }

    private ScriptRunResult InvalidMessage(JavaScriptException e) => new()
    {
        Status = ScriptRunStatus.InvalidMessage,
        Error = new ScriptError("the message is not JSON: " + e.Message, null),
    };

    /// <summary>How a run the engine stopped ended, or <see langword="null"/> for exceptions that are bugs.</summary>
    private (ScriptRunStatus Status, string Message)? Stopped(Exception e) => e switch
    {
        OperationCanceledException when _budget.Interrupted => (ScriptRunStatus.TimedOut, "RangeError: execution interrupted"),
        RegexMatchTimeoutException =>
            (ScriptRunStatus.TimedOut, $"RangeError: execution timeout: a regular expression ran longer than {(long)_limits.RegexTimeout.TotalMilliseconds} ms"),
        TimeoutException or OperationCanceledException =>
            (ScriptRunStatus.TimedOut, $"RangeError: execution timeout: the script ran longer than {_limits.RunTimeoutMilliseconds} ms"),
        InsufficientMemoryException or MemoryLimitExceededException or OutOfMemoryException =>
            (ScriptRunStatus.OutOfMemory, $"RangeError: out of memory: the script holds more than its limit of {_limits.MemoryLimitBytes} bytes"),
        RecursionDepthOverflowException or InsufficientExecutionStackException =>
            (ScriptRunStatus.Threw, "RangeError: Maximum call stack size exceeded"),
        StatementsCountOverflowException =>
            (ScriptRunStatus.Threw, $"RangeError: statement limit reached: at most {_limits.MaxStatementsPerRun} statements per run"),
        JintException => (ScriptRunStatus.Threw, "Error: " + e.Message),
        _ => null,
    };

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

    private void UnloadCore(string scriptKey)
    {
        if (_loaded.Remove(scriptKey, out LoadedScript? script))
        {
            _engine?.Forget(script.Script);
        }
    }

    private void Enter()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            throw new InvalidOperationException(
                "This script heap is already in use: a heap runs one thing at a time (and a host call cannot use the heap that called it).");
        }
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(ScriptHeap));
        }
    }

    private void Exit() => Volatile.Write(ref _busy, 0);

    /// <summary>A script loaded into this heap, and when it was last used.</summary>
    private sealed class LoadedScript(CompiledScript script)
    {
        public CompiledScript Script { get; } = script;

        public long LastUse { get; set; }
    }
}

namespace IoTPE.Scripting.Runtime;

/// <summary>One queued piece of work for an owner: a run, the release of the owner's heap, or a posted callback.</summary>
internal sealed class ScriptRunRequest
{
    private ScriptRunRequest(string? scriptKey, ScriptSource? source, ReadOnlyMemory<byte> messageUtf8, object? message,
        IScriptHost? host, CancellationToken cancellationToken, Action? callback = null, bool continueOnWorker = false)
    {
        Callback = callback;
        Completion = new TaskCompletionSource<ScriptRunResult>(continueOnWorker ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
        ScriptKey = scriptKey;
        Source = source;
        MessageUtf8 = messageUtf8;
        Message = message;
        Host = host;
        CancellationToken = cancellationToken;
    }

    /// <summary>The script version to run; <see langword="null"/> for a release.</summary>
    public string? ScriptKey { get; }

    public ScriptSource? Source { get; }

    /// <summary>The message as UTF-8 JSON, unless <see cref="Message"/> holds it.</summary>
    public ReadOnlyMemory<byte> MessageUtf8 { get; }

    /// <summary>The message as a string of JSON or a <see cref="RunMessage"/>; <see langword="null"/> when <see cref="MessageUtf8"/> holds it.</summary>
    public object? Message { get; }

    public IScriptHost? Host { get; }

    public CancellationToken CancellationToken { get; }

    /// <summary>What a release completes with.</summary>
    public static ScriptRunResult ReleasedResult { get; } = new() { Status = ScriptRunStatus.Completed };

    /// <summary>
    /// Completed with the run's result (<see cref="ReleasedResult"/> for a release), canceled, or
    /// failed; its continuations run on the thread pool unless the runtime continues runs on the
    /// worker (<see cref="ScriptRuntimeOptions.ContinueRunsOnWorker"/>).
    /// </summary>
    public TaskCompletionSource<ScriptRunResult> Completion { get; }

    /// <summary>Cancels <see cref="Completion"/> while the request waits in the queue; disposed when a worker takes it.</summary>
    public CancellationTokenRegistration QueuedCancellation { get; set; }

    /// <summary>Work posted to run on the owner's worker (<see cref="ScriptRuntime.Post"/>); <see langword="null"/> for runs and releases.</summary>
    public Action? Callback { get; }

    public bool IsRelease => ScriptKey is null && Callback is null;

    public static ScriptRunRequest Run(string scriptKey, ScriptSource source, ReadOnlyMemory<byte> messageUtf8, object? message,
        IScriptHost host, bool continueOnWorker, CancellationToken cancellationToken) =>
        new(scriptKey, source, messageUtf8, message, host, cancellationToken, continueOnWorker: continueOnWorker);

    public static ScriptRunRequest Release() => new(null, null, default, null, null, CancellationToken.None);

    public static ScriptRunRequest Post(Action callback) => new(null, null, default, null, null, CancellationToken.None, callback);
}

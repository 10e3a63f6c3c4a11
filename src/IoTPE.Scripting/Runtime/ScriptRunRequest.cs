namespace IoTPE.Scripting.Runtime;

/// <summary>One queued piece of work for an owner: a run, or the release of the owner's heap.</summary>
internal sealed class ScriptRunRequest
{
    private ScriptRunRequest(string? scriptKey, ScriptSource? source, ReadOnlyMemory<byte> messageUtf8, string? messageText,
        IScriptHost? host, CancellationToken cancellationToken)
    {
        ScriptKey = scriptKey;
        Source = source;
        MessageUtf8 = messageUtf8;
        MessageText = messageText;
        Host = host;
        CancellationToken = cancellationToken;
    }

    /// <summary>The script version to run; <see langword="null"/> for a release.</summary>
    public string? ScriptKey { get; }

    public ScriptSource? Source { get; }

    /// <summary>The message as UTF-8 JSON, unless <see cref="MessageText"/> holds it.</summary>
    public ReadOnlyMemory<byte> MessageUtf8 { get; }

    public string? MessageText { get; }

    public IScriptHost? Host { get; }

    public CancellationToken CancellationToken { get; }

    /// <summary>What a release completes with.</summary>
    public static ScriptRunResult ReleasedResult { get; } = new() { Status = ScriptRunStatus.Completed };

    /// <summary>Completed with the run's result (<see cref="ReleasedResult"/> for a release), canceled, or failed.</summary>
    public TaskCompletionSource<ScriptRunResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Cancels <see cref="Completion"/> while the request waits in the queue; disposed when a worker takes it.</summary>
    public CancellationTokenRegistration QueuedCancellation { get; set; }

    public bool IsRelease => ScriptKey is null;

    public static ScriptRunRequest Run(string scriptKey, ScriptSource source, ReadOnlyMemory<byte> messageUtf8, string? messageText,
        IScriptHost host, CancellationToken cancellationToken) =>
        new(scriptKey, source, messageUtf8, messageText, host, cancellationToken);

    public static ScriptRunRequest Release() => new(null, null, default, null, null, CancellationToken.None);
}

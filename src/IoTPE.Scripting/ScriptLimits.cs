namespace IoTPE.Scripting;

/// <summary>The resources one script heap, and one run in it, may use.</summary>
public sealed record ScriptLimits
{
    /// <summary>The defaults: 16 MiB per heap, 1 second per run.</summary>
    public static ScriptLimits Default { get; } = new();

    /// <summary>Most bytes a heap may allocate; an allocation past it fails inside the script.</summary>
    public long MemoryLimitBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>Wall-clock budget of one run (and of one compilation).</summary>
    public TimeSpan RunTimeout { get; init; } = TimeSpan.FromSeconds(1);
}

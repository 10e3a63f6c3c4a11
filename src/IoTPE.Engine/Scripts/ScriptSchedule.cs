namespace IoTPE.Engine.Scripts;

/// <summary>A stored script run every <paramref name="EverySeconds"/> seconds (for polling local sensors).</summary>
public sealed record ScriptSchedule(string Account, string Name, int EverySeconds);

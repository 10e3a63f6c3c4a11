namespace IoTPE.Engine.Scripts;

/// <summary>What an account's <c>kv</c> entries may take.</summary>
/// <param name="MaxKeys">Most keys.</param>
/// <param name="MaxBytes">Most bytes of keys and values together (UTF-8).</param>
public sealed record KeyValueQuota(int MaxKeys, long MaxBytes);

namespace IoTPE.Engine.Scripts;

/// <summary>What an account's stored scripts may take.</summary>
/// <param name="VersionsKept">Versions kept per script: saving one more deletes the oldest.</param>
/// <param name="MaxBytes">Most bytes (UTF-8 text) of every kept version of every script of the account together.</param>
public sealed record ScriptQuota(int VersionsKept, long MaxBytes);

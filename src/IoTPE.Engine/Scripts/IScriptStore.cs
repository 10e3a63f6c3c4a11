namespace IoTPE.Engine.Scripts;

/// <summary>
/// Where accounts' scripts are kept, every version of them, with their schedules. Writes are
/// durable when a method returns; <see cref="ChangeVersion"/> moves with every change, also one
/// made by another process (<c>iotpe script load</c>), so a running engine picks it up.
/// </summary>
public interface IScriptStore
{
    /// <summary>Changes whenever a script or schedule changes.</summary>
    long ChangeVersion { get; }

    /// <summary>
    /// Stores <paramref name="text"/> as the next version of the script and returns it, deleting the
    /// versions beyond <see cref="ScriptQuota.VersionsKept"/>; stores nothing and returns null when the
    /// account's scripts would then take more than <see cref="ScriptQuota.MaxBytes"/>.
    /// </summary>
    /// <param name="account">The owning account.</param>
    /// <param name="name">The script name.</param>
    /// <param name="text">The source.</param>
    /// <param name="quota">What the account's scripts may take.</param>
    /// <param name="bytesNeeded">The bytes the account's scripts take with this version (also when refused).</param>
    StoredScript? Save(string account, string name, string text, ScriptQuota quota, out long bytesNeeded);

    /// <summary>The newest version, or null.</summary>
    StoredScript? GetLatest(string account, string name);

    /// <summary>A given version, or null.</summary>
    StoredScript? Get(string account, string name, int version);

    /// <summary>The newest version of each of the account's scripts.</summary>
    IReadOnlyList<StoredScript> List(string account);

    /// <summary>Deletes every version and the schedule of a script. Returns false if there was none.</summary>
    bool Remove(string account, string name);

    /// <summary>Runs the script every <paramref name="everySeconds"/> seconds, or stops doing so when null.</summary>
    void SetSchedule(string account, string name, int? everySeconds);

    /// <summary>Every schedule.</summary>
    IReadOnlyList<ScriptSchedule> Schedules();
}

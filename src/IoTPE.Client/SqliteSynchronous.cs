namespace IoTPE.Client;

/// <summary>
/// SQLite's <c>PRAGMA synchronous</c> for the client's state file (always in WAL mode). It decides what survives a
/// power cut; a killed process loses nothing committed with any of them.
/// </summary>
public enum SqliteSynchronous
{
    /// <summary>WAL is synced at checkpoints only: a power cut may lose the last commits (and so duplicate or lose messages).</summary>
    Normal = 1,

    /// <summary>WAL is synced at every commit (the default): nothing acknowledged is lost on a power cut.</summary>
    Full = 2,

    /// <summary>Like <see cref="Full"/>, and also syncs the directory after deleting the WAL.</summary>
    Extra = 3,
}

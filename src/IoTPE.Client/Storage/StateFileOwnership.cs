namespace IoTPE.Client.Storage;

/// <summary>
/// Which client owns a state file: an exclusive lock on the empty file <c>&lt;state file&gt;.lock</c> beside it, held
/// while the client runs and released by the operating system when the process ends, even by <c>kill -9</c>. The
/// lock is on a file of its own, not on the state file: closing any descriptor of the state file would release
/// SQLite's POSIX locks on it, and the state file itself stays readable by other processes (read-only, in WAL mode).
/// The lock file is left in place when the client stops: deleting it could let two clients lock two different files
/// of one name.
/// </summary>
internal sealed class StateFileOwnership : IDisposable
{
    private readonly FileStream _lock;

    private StateFileOwnership(FileStream lockFile) => _lock = lockFile;

    /// <summary>Takes the ownership of the state file at <paramref name="stateFilePath"/> (a full path).</summary>
    /// <exception cref="InvalidOperationException">Another client, in this process or another, owns it.</exception>
    public static StateFileOwnership Take(string stateFilePath)
    {
        string path = stateFilePath + ".lock";
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock on Unix, a share mode on Windows), without waiting.
            return new StateFileOwnership(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1));
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new InvalidOperationException($"The state file {stateFilePath} is in use by another client ({path} is locked: {ex.Message}).", ex);
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _lock.Dispose();
}

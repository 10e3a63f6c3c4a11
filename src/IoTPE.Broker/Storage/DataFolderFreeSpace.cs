namespace IoTPE.Broker.Storage;

/// <summary>
/// The free space of the file system that holds the data folder (<c>statvfs</c>, through
/// <see cref="DriveInfo.AvailableFreeSpace"/>: the bytes an unprivileged process may still use),
/// plus the space the broker's database can reuse without growing.
/// </summary>
/// <remarks>
/// SQLite never shrinks a file when rows are deleted: the pages go to the database's free list and
/// are reused by later inserts. After a drained queue the file system shows no more free space than
/// before, yet the broker can store as much again, so its free pages count as available — while
/// the file system has <see cref="WalHeadroomBytes"/> free for the WAL that writes pass through.
/// </remarks>
public sealed class DataFolderFreeSpace : IFreeSpaceProbe
{
    private readonly DriveInfo _drive;
    private readonly Func<long>? _reusableBytes;

    /// <summary>Watches the file system of <paramref name="dataFolder"/>.</summary>
    /// <param name="dataFolder">Any path on the file system; it must exist.</param>
    /// <param name="reusableBytes">Bytes free inside the databases (e.g. the broker store's free pages); null: none.</param>
    public DataFolderFreeSpace(string dataFolder, Func<long>? reusableBytes = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataFolder);
        // On Unix DriveInfo takes any path and asks statvfs about it; it need not be a mount point.
        _drive = new DriveInfo(Path.GetFullPath(dataFolder));
        _reusableBytes = reusableBytes;
    }

    /// <summary>
    /// Free bytes the file system itself must have for the databases' free pages to count: a write
    /// into those pages goes through the WAL first, which grows by up to its checkpoint size (~4 MiB)
    /// plus one group-commit batch before it is copied into them.
    /// </summary>
    public const long WalHeadroomBytes = 16L * 1024 * 1024;

    /// <inheritdoc/>
    public long AvailableBytes()
    {
        long free = _drive.AvailableFreeSpace;
        return free >= WalHeadroomBytes && _reusableBytes is { } reusable ? free + reusable() : free;
    }
}

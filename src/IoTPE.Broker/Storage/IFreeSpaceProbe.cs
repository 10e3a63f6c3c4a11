namespace IoTPE.Broker.Storage;

/// <summary>
/// Reads how many bytes the stores could still write. The seam of <see cref="DiskReserve"/>: the
/// real one is <see cref="DataFolderFreeSpace"/>; a test injects a disk that is filling up.
/// </summary>
public interface IFreeSpaceProbe
{
    /// <summary>Bytes that can still be written now.</summary>
    /// <exception cref="IOException">The file system cannot be asked.</exception>
    long AvailableBytes();
}

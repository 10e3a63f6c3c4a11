namespace IoTPE.Broker.Storage.Sqlite;

/// <summary>
/// The bytes a database occupies on disk: the database file plus its WAL. Measured by the writer
/// after commits and kept in a field, so that reading it (e.g. for <c>$SYS</c> counters) is free.
/// </summary>
internal sealed class StoreFootprint
{
    private readonly FileInfo _database;
    private readonly FileInfo _wal;
    private long _bytes;
    private long _reusableBytes;

    /// <summary>Watches <paramref name="databasePath"/> and its <c>-wal</c> file.</summary>
    public StoreFootprint(string databasePath)
    {
        _database = new FileInfo(databasePath);
        _wal = new FileInfo(databasePath + "-wal");
        Refresh();
    }

    /// <summary>The bytes measured by the latest <see cref="Refresh"/>.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Bytes of free pages inside the database, as measured by the writer after its latest commit.</summary>
    public long ReusableBytes
    {
        get => Interlocked.Read(ref _reusableBytes);
        set => Interlocked.Exchange(ref _reusableBytes, value);
    }

    /// <summary>Measures the files again (two <c>stat</c> calls).</summary>
    public void Refresh()
    {
        try
        {
            Interlocked.Exchange(ref _bytes, SizeOf(_database) + SizeOf(_wal));
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Keep the previous figure: a gauge is not worth failing the writer thread for.
        }
    }

    private static long SizeOf(FileInfo file)
    {
        file.Refresh();
        return file.Exists ? file.Length : 0;
    }
}

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>StoredBytes is the database plus WAL size, and the WAL stays bounded under a constant stream.</summary>
public sealed class StoreFootprintTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task StoredBytes_is_the_database_and_wal_size_after_commits()
    {
        await using var store = new SqliteBrokerStore(_folder.Path);
        long empty = store.StoredBytes;

        for (long id = 1; id <= 20; id++)
        {
            store.InsertMessage(SampleRecords.Message(id, 16 * 1024));
        }
        Assert.True(await store.DurableAsync());

        await StoreTestExtensions.EventuallyAsync(() => store.StoredBytes == FileSizes(store.DatabasePath), "StoredBytes to match the files");
        Assert.True(store.StoredBytes >= empty + 20 * 16 * 1024, $"{store.StoredBytes} bytes after writing 320 KiB to a store of {empty}");
    }

    [Fact]
    public async Task Deleted_messages_leave_reusable_free_pages_that_the_store_reports()
    {
        // SQLite does not shrink the file when rows go, so the disk reserve counts these pages as free.
        await using var store = new SqliteBrokerStore(_folder.Path);
        for (long id = 1; id <= 40; id++)
        {
            store.InsertMessage(SampleRecords.Message(id, 64 * 1024));
        }
        Assert.True(await store.DurableAsync());
        long beforeDelete = store.ReusableBytes;
        for (long id = 1; id <= 40; id++)
        {
            store.DeleteMessage(id);
        }
        Assert.True(await store.DurableAsync());
        Assert.True(store.ReusableBytes >= beforeDelete + 40 * 60 * 1024, $"{store.ReusableBytes} reusable bytes after deleting 2.5 MiB ({beforeDelete} before)");
        Assert.Equal(store.QueryOnWriterConnection("PRAGMA freelist_count") * store.QueryOnWriterConnection("PRAGMA page_size"), store.ReusableBytes);
        // Freed pages are not zeroed (secure_delete FAST = 2): a drained queue must not write itself to the WAL again.
        Assert.Equal(2, store.QueryOnWriterConnection("PRAGMA secure_delete"));
    }

    [Fact]
    public async Task The_wal_stays_bounded_under_a_constant_stream()
    {
        const int PacketSize = 64 * 1024;
        const int Messages = 640; // 40 MiB through the WAL
        const int PerBatch = 32;  // 2 MiB per commit
        await using var store = new SqliteBrokerStore(_folder.Path);
        string walPath = store.DatabasePath + "-wal";
        long largestWal = 0;

        for (int id = 1; id <= Messages; id++)
        {
            store.InsertMessage(SampleRecords.Message(id, PacketSize));
            store.InsertDelivery(SampleRecords.Delivery("c", id, id));
            if (id > 2 * PerBatch)
            {
                store.DeleteDelivery("c", id - (2 * PerBatch));
                store.DeleteMessage(id - (2 * PerBatch));
            }
            if (id % PerBatch == 0)
            {
                Assert.True(await store.DurableAsync());
                largestWal = Math.Max(largestWal, new FileInfo(walPath).Length);
            }
        }

        // Threshold (1000 pages, ~4 MiB) plus one batch, with room for checkpoints a reader delayed.
        Assert.InRange(largestWal, 1, 12 * 1024 * 1024);
        Assert.InRange(new FileInfo(store.DatabasePath).Length, 1, 16 * 1024 * 1024);
    }

    private static long FileSizes(string databasePath)
    {
        var wal = new FileInfo(databasePath + "-wal");
        return new FileInfo(databasePath).Length + (wal.Exists ? wal.Length : 0);
    }
}

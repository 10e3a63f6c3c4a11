namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>Load deletes messages that no delivery and no retained entry refers to (a crash can leave them).</summary>
public sealed class OrphanSweepTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly CollectingLog _log = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Load_deletes_unreferenced_messages_and_keeps_referenced_ones()
    {
        string databasePath;
        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            databasePath = store.DatabasePath;
            for (long id = 1; id <= 5; id++)
            {
                store.InsertMessage(SampleRecords.Message(id));
            }
            store.InsertDelivery(SampleRecords.Delivery("c", 1, 1));
            store.SetRetained("t", 2);
            store.InsertDelivery(SampleRecords.Delivery("d", 1, 5));
            store.SetRetained("u", 5);
            // 3 and 4: the crash happened before the broker's DeleteMessage.
            Assert.True(await store.DurableAsync());
        }
        Assert.Equal(5, DatabaseProbe.Scalar(databasePath, "SELECT count(*) FROM messages"));

        await using (var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { Log = _log.Write }))
        {
            Assert.Equal([1L, 2L, 5L], store.Load().Messages.Select(m => m.Id));
        }

        Assert.Equal(3, DatabaseProbe.Scalar(databasePath, "SELECT count(*) FROM messages"));
        Assert.Contains(_log.Lines, line => line.Contains("deleted 2 orphaned messages", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Load_with_no_orphans_deletes_nothing_and_logs_nothing()
    {
        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            store.InsertMessage(SampleRecords.Message(1));
            store.InsertDelivery(SampleRecords.Delivery("c", 1, 1));
            Assert.True(await store.DurableAsync());
        }

        await using (var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { Log = _log.Write }))
        {
            Assert.Single(store.Load().Messages);
        }
        Assert.Empty(_log.Lines);
    }
}

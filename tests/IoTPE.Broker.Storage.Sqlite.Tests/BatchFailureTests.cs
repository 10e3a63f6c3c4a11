using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>
/// A failed batch is rolled back, its callbacks are told false, the failure is logged, and the store
/// keeps working. "Disk full" is SQLite's own SQLITE_FULL, produced by capping the database size
/// with <c>PRAGMA max_page_count</c> on the writer's connection (no small file system can be mounted here).
/// </summary>
public sealed class BatchFailureTests : IDisposable
{
    private const int LargePacket = 64 * 1024;
    private readonly TempFolder _folder = new();
    private readonly CollectingLog _log = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task A_full_disk_fails_the_batch_and_the_store_recovers_once_space_frees_up()
    {
        await using (SqliteBrokerStore store = Open())
        {
            store.InsertMessage(SampleRecords.Message(1));
            store.SetRetained("t/1", 1);
            Assert.True(await store.DurableAsync());

            FillDisk(store);
            store.PauseWriter(); // one batch: the session fits, but shares the batch that fails
            store.SaveSession(new StoredSession("rolled-back", 5, 60, null, null));
            store.InsertMessage(SampleRecords.Message(2, LargePacket));
            store.SetRetained("t/2", 2);
            Task<bool> full = store.DurableAsync();
            store.ResumeWriter();
            Assert.False(await full);
            store.InsertMessage(SampleRecords.Message(3, LargePacket));
            Assert.False(await store.DurableAsync()); // still full: fails again, no hang

            Assert.Contains(_log.Lines, line => line.Contains("SQLITE_FULL", StringComparison.Ordinal) && line.Contains("rolled back", StringComparison.Ordinal));
            Assert.Equal(2, store.FailedBatchCount);

            FreeDisk(store);
            store.InsertMessage(SampleRecords.Message(4, LargePacket));
            store.SetRetained("t/4", 4);
            Assert.True(await store.DurableAsync());
        }

        StoredBrokerState state = await LoadAsync();
        Assert.Equal([1L, 4L], state.Messages.Select(m => m.Id));
        Assert.Equal(["t/1", "t/4"], state.Retained.Select(r => r.Topic));
        Assert.Empty(state.Sessions);
    }

    [Fact]
    public async Task Writes_lost_after_the_last_callback_of_a_failed_batch_make_the_next_callback_false()
    {
        await using (SqliteBrokerStore store = Open())
        {
            Assert.True(await store.DurableAsync());
            FillDisk(store);
            store.PauseWriter();
            store.InsertMessage(SampleRecords.Message(1, LargePacket)); // no WhenDurable in this batch
            store.SetRetained("t/1", 1);
            store.ResumeWriter();
            await StoreTestExtensions.EventuallyAsync(() => store.FailedBatchCount == 1, "the failed batch");
            FreeDisk(store);

            store.InsertMessage(SampleRecords.Message(2));
            store.SetRetained("t/2", 2);
            Assert.False(await store.DurableAsync()); // it also covers message 1, which was lost
            store.InsertMessage(SampleRecords.Message(3));
            store.SetRetained("t/3", 3);
            Assert.True(await store.DurableAsync());
        }

        Assert.Equal([2L, 3L], (await LoadAsync()).Messages.Select(m => m.Id));
    }

    [Fact]
    public async Task In_a_failed_batch_only_callbacks_covering_its_writes_report_false()
    {
        await using SqliteBrokerStore store = Open();
        Assert.True(await store.DurableAsync());
        store.InsertMessage(SampleRecords.Message(1));
        Assert.True(await store.DurableAsync());

        FillDisk(store);
        store.PauseWriter();
        Task<bool> coversNothingNew = store.DurableAsync(); // before the batch's first write
        store.InsertMessage(SampleRecords.Message(2, LargePacket));
        Task<bool> coversTheFailedWrite = store.DurableAsync();
        Task<bool> coversNothingAgain = store.DurableAsync();
        store.ResumeWriter();

        bool[] outcomes = await Task.WhenAll(coversNothingNew, coversTheFailedWrite, coversNothingAgain);
        Assert.Equal([true, false, true], outcomes);
        Assert.Equal(1, store.FailedBatchCount);
    }

    [Fact]
    public async Task A_refused_write_fails_only_its_own_callback_and_the_rest_of_the_batch_commits()
    {
        await using (SqliteBrokerStore store = Open())
        {
            store.InsertMessage(SampleRecords.Message(1));
            store.SetRetained("t/1", 1);
            Assert.True(await store.DurableAsync());

            store.PauseWriter();
            store.InsertMessage(new StoredMessage(1, [0xFF], null, null, null)); // duplicate id: a broker bug
            Task<bool> duplicate = store.DurableAsync();
            store.SaveSession(new StoredSession(null!, 5, 0, null, null)); // a null key
            Task<bool> nullKey = store.DurableAsync();
            store.InsertMessage(SampleRecords.Message(2));
            store.SetRetained("t/2", 2);
            Task<bool> valid = store.DurableAsync();
            store.ResumeWriter();

            bool[] outcomes = await Task.WhenAll(duplicate, nullKey, valid);
            Assert.Equal([false, false, true], outcomes);
            Assert.Equal(0, store.FailedBatchCount);
            Assert.Contains(_log.Lines, line => line.Contains("SQLITE_CONSTRAINT", StringComparison.Ordinal) && line.Contains("InsertMessage", StringComparison.Ordinal));
        }

        StoredBrokerState state = await LoadAsync();
        Assert.Equal([1L, 2L], state.Messages.Select(m => m.Id));
        Assert.Equal(SampleRecords.Packet(1), state.Messages[0].Packet);
        Assert.Empty(state.Sessions);
    }

    [Fact]
    public async Task A_throwing_callback_is_logged_and_later_callbacks_still_run()
    {
        await using SqliteBrokerStore store = Open();

        store.InsertMessage(SampleRecords.Message(1));
        store.WhenDurable(_ => throw new InvalidOperationException("broker bug"));
        store.InsertMessage(SampleRecords.Message(2));

        Assert.True(await store.DurableAsync());
        Assert.Contains(_log.Lines, line => line.Contains("broker bug", StringComparison.Ordinal));
        store.InsertMessage(SampleRecords.Message(3));
        Assert.True(await store.DurableAsync());
    }

    [Fact]
    public async Task A_throwing_log_sink_does_not_stop_the_writer()
    {
        await using var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { Log = _ => throw new IOException("log disk full") });

        store.InsertMessage(SampleRecords.Message(1));
        Assert.True(await store.DurableAsync());
        store.InsertMessage(SampleRecords.Message(1)); // refused, logged, and the log throws
        Assert.False(await store.DurableAsync());
        store.WhenDurable(_ => throw new InvalidOperationException("callback bug")); // logged too
        store.InsertMessage(SampleRecords.Message(2));
        Assert.True(await store.DurableAsync());
    }

    private SqliteBrokerStore Open() => new(_folder.Path, new SqliteBrokerStoreOptions { Log = _log.Write });

    private static void FillDisk(SqliteBrokerStore store)
    {
        long pages = store.QueryOnWriterConnection("PRAGMA page_count") ?? throw new InvalidOperationException("no page count");
        store.ExecuteOnWriterConnection($"PRAGMA max_page_count = {pages}");
    }

    private static void FreeDisk(SqliteBrokerStore store) => store.ExecuteOnWriterConnection("PRAGMA max_page_count = 1000000");

    private async Task<StoredBrokerState> LoadAsync()
    {
        await using var store = new SqliteBrokerStore(_folder.Path);
        return store.Load();
    }
}

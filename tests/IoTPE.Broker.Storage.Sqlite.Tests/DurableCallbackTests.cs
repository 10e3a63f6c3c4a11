using System.Collections.Concurrent;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>WhenDurable callbacks run after the commit, on the writer thread, in request order.</summary>
public sealed class DurableCallbackTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Callbacks_run_in_request_order_across_many_batches()
    {
        const int Count = 5000;
        var order = new ConcurrentQueue<int>();
        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            for (int i = 0; i < Count; i++)
            {
                int index = i;
                store.InsertMessage(SampleRecords.Message(i + 1));
                store.WhenDurable(ok => order.Enqueue(ok ? index : -1));
                if (i % 500 == 0)
                {
                    await Task.Delay(1); // let the writer commit mid-stream, so the callbacks span batches
                }
            }
            Assert.True(await store.DurableAsync());
            Assert.True(store.CommitCount > 1, "the callbacks should span several batches");
        }

        Assert.Equal(Enumerable.Range(0, Count), order);
    }

    [Fact]
    public async Task A_callback_sees_its_rows_committed_from_another_connection()
    {
        await using var store = new SqliteBrokerStore(_folder.Path);
        var seen = new TaskCompletionSource<(long Messages, long Deliveries)>(TaskCreationOptions.RunContinuationsAsynchronously);

        store.InsertMessage(SampleRecords.Message(1));
        store.InsertDelivery(SampleRecords.Delivery("c", 1, 1));
        store.WhenDurable(ok => seen.SetResult((
            DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM messages WHERE id = 1"),
            DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM deliveries WHERE client_id = 'c' AND sequence = 1"))));

        Assert.Equal((1L, 1L), await seen.Task.WaitAsync(StoreTestExtensions.Patience));
    }

    [Fact]
    public async Task Rows_are_not_visible_to_other_connections_before_the_commit()
    {
        await using var store = new SqliteBrokerStore(_folder.Path);
        Assert.True(await store.DurableAsync()); // the schema is committed

        store.PauseWriter();
        store.InsertMessage(SampleRecords.Message(1));
        await Task.Delay(50);
        long beforeCommit = DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM messages");
        Task<bool> durable = store.DurableAsync();
        store.ResumeWriter();
        Assert.True(await durable);
        long afterCommit = DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM messages");

        Assert.Equal((0L, 1L), (beforeCommit, afterCommit));
    }

    [Fact]
    public async Task Callbacks_run_on_the_writer_thread_not_the_caller()
    {
        await using var store = new SqliteBrokerStore(_folder.Path);
        var thread = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);

        store.InsertMessage(SampleRecords.Message(1));
        store.WhenDurable(_ => thread.SetResult(Thread.CurrentThread.Name));

        Assert.Equal("IoTPE SQLite writer", await thread.Task.WaitAsync(StoreTestExtensions.Patience));
    }

    [Fact]
    public async Task A_callback_with_no_write_before_it_still_runs_without_a_commit()
    {
        await using var store = new SqliteBrokerStore(_folder.Path);
        long commitsBefore = store.CommitCount;

        Assert.True(await store.DurableAsync());
        Assert.True(await store.DurableAsync());

        Assert.Equal(commitsBefore, store.CommitCount);
    }
}

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>Many writes share one commit: the writer takes everything queued at once.</summary>
public sealed class GroupCommitTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Writes_enqueued_before_one_WhenDurable_need_far_fewer_commits_than_writes()
    {
        const int Messages = 20_000;
        await using var store = new SqliteBrokerStore(_folder.Path);
        long before = store.CommitCount;

        for (int id = 1; id <= Messages; id++)
        {
            store.InsertMessage(SampleRecords.Message(id));
            store.InsertDelivery(SampleRecords.Delivery("c", id, id));
        }
        Assert.True(await store.DurableAsync());

        long commits = store.CommitCount - before;
        Assert.InRange(commits, 1, Messages / 20);
        Assert.Equal(Messages, DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM deliveries"));
    }

    [Fact]
    public async Task A_WhenDurable_per_message_still_groups_commits()
    {
        const int Messages = 20_000;
        await using var store = new SqliteBrokerStore(_folder.Path);
        long before = store.CommitCount;
        int durable = 0;

        for (int id = 1; id <= Messages; id++)
        {
            store.InsertMessage(SampleRecords.Message(id));
            store.InsertDelivery(SampleRecords.Delivery("c", id, id));
            store.WhenDurable(ok =>
            {
                if (ok)
                {
                    Interlocked.Increment(ref durable);
                }
            });
        }
        Assert.True(await store.DurableAsync());

        Assert.Equal(Messages, Volatile.Read(ref durable));
        Assert.InRange(store.CommitCount - before, 1, Messages / 10);
    }

    [Fact]
    public async Task One_paused_batch_is_exactly_one_commit()
    {
        await using var store = new SqliteBrokerStore(_folder.Path);
        long before = store.CommitCount;

        store.PauseWriter();
        var outcomes = new List<Task<bool>>();
        for (int id = 1; id <= 100; id++)
        {
            store.InsertMessage(SampleRecords.Message(id));
            outcomes.Add(store.DurableAsync());
        }
        store.ResumeWriter();

        Assert.All(await Task.WhenAll(outcomes), Assert.True);
        Assert.Equal(before + 1, store.CommitCount);
    }
}

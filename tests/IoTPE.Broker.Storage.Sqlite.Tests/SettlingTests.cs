using System.Diagnostics;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>
/// Settling requests (<see cref="IBrokerStore.WhenDurableOrSettled"/>): a lone one is held up to the
/// commit delay; rows taken back meanwhile are neither written nor synced, and the callback is told
/// true without a commit, by the end of the pass that took them back; rows nobody takes back are
/// committed at the first pass end after the delay.
/// </summary>
[Collection(nameof(TimingSensitiveCollection))]
public sealed class SettlingTests : IDisposable
{
    private const string Engine = "$iotpe/engine";
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Rows_taken_back_before_the_commit_are_never_written_and_the_callback_is_told_true_at_the_end_of_that_pass()
    {
        // A delay far longer than the test may take: only the end of the pass that deleted the rows can end the wait.
        await using var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { CommitDelay = TimeSpan.FromSeconds(30) });
        store.Load();
        Assert.True(store.SkipsSettledWrites);
        long commitsBefore = store.CommitCount;

        for (int request = 1; request <= 3; request++)
        {
            var answered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            // The broker's pass that stores a run request for the engine and hands it over.
            store.InsertMessage(SampleRecords.Message(request));
            store.InsertDelivery(SampleRecords.Delivery(Engine, request, request));
            store.WhenDurableOrSettled(answered.SetResult);
            store.OnPassEnded();
            await Task.Delay(20); // the writer now holds the request (or is about to)
            Assert.False(answered.Task.IsCompleted, "a settling request was answered before its rows were taken back");

            // The engine's acknowledgement: the pass that deletes what the request wrote.
            var sinceAcknowledged = Stopwatch.StartNew();
            store.DeleteDelivery(Engine, request);
            store.DeleteMessage(request);
            store.OnPassEnded();
            Assert.True(await answered.Task.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.True(sinceAcknowledged.Elapsed < TimeSpan.FromSeconds(5), $"answered {sinceAcknowledged.Elapsed.TotalSeconds:0.0} s after the rows were taken back");
        }

        Assert.Equal(commitsBefore, store.CommitCount);
        Assert.Equal(12, store.SettledWriteCount);
        Assert.Equal(0, DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM messages"));
        Assert.Equal(0, DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM deliveries"));
    }

    [Fact]
    public async Task A_request_nobody_takes_back_is_committed_when_the_commit_delay_ends_and_its_late_deletes_are_committed_after()
    {
        TimeSpan delay = TimeSpan.FromMilliseconds(300);
        await using var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { CommitDelay = delay });
        store.Load();
        long commitsBefore = store.CommitCount;

        store.OnPassEnded(); // the broker reports the end of its passes: the writer is woken there from now on
        var enqueued = Stopwatch.StartNew();
        store.InsertMessage(SampleRecords.Message(1));
        store.InsertDelivery(SampleRecords.Delivery(Engine, 1, 1));
        Task<bool> durable = DurableOrSettledAsync(store);
        // The broker's passes keep ending (traffic, its housekeeping once a second); none takes the
        // request back, so the first one after the delay has it committed.
        while (!durable.IsCompleted && enqueued.Elapsed < TimeSpan.FromSeconds(10))
        {
            store.OnPassEnded();
            await Task.Delay(20);
        }
        Assert.True(await durable.WaitAsync(TimeSpan.FromSeconds(1)));
        TimeSpan waited = enqueued.Elapsed;

        // Held for the delay (less the clocks' rounding), not committed at once.
        Assert.True(waited >= delay * 0.8, $"a settling request was committed after {waited.TotalMilliseconds:0} ms, before the commit delay ended");
        Assert.Equal(commitsBefore + 1, store.CommitCount);
        Assert.Equal(1, DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM deliveries"));

        // Taken back after its commit: an ordinary delete, committed like any other.
        store.DeleteDelivery(Engine, 1);
        store.DeleteMessage(1);
        store.OnPassEnded();
        Assert.True(await store.DurableAsync());
        Assert.Equal(0, store.SettledWriteCount);
        Assert.Equal(0, DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM messages"));
    }

    [Fact]
    public async Task Rows_that_cancel_out_still_fail_with_their_batch()
    {
        // Below the running average's first guess of a second: the single writes before do not gather.
        await using var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { CommitDelay = TimeSpan.FromMilliseconds(500) });
        store.Load();
        store.InsertMessage(SampleRecords.Message(1));
        Assert.True(await store.DurableAsync());
        long pages = store.QueryOnWriterConnection("PRAGMA page_count") ?? throw new InvalidOperationException("no page count");
        store.ExecuteOnWriterConnection($"PRAGMA max_page_count = {pages}");

        store.PauseWriter(); // one batch: a request taken back, and a message too large for the full disk
        store.InsertMessage(SampleRecords.Message(2));
        store.InsertDelivery(SampleRecords.Delivery(Engine, 2, 2));
        Task<bool> settled = DurableOrSettledAsync(store);
        store.DeleteDelivery(Engine, 2);
        store.DeleteMessage(2);
        store.InsertMessage(SampleRecords.Message(3, 64 * 1024));
        Task<bool> large = store.DurableAsync();
        store.ResumeWriter();

        // The batch is one transaction: its failure covers the request's segment too, as it would
        // had its rows been written (the broker refuses the publisher; a resend runs it again).
        Assert.False(await large.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(await settled.WaitAsync(TimeSpan.FromSeconds(10)));
        store.ExecuteOnWriterConnection("PRAGMA max_page_count = 1000000");
        Assert.Equal(1, DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM messages"));
    }

    private static Task<bool> DurableOrSettledAsync(IBrokerStore store)
    {
        var outcome = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        store.WhenDurableOrSettled(outcome.SetResult);
        return outcome.Task;
    }
}

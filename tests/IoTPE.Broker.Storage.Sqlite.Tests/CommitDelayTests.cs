using System.Diagnostics;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>
/// The commit delay: awaited writes that arrive closer together than it share a sync in pairs, and
/// once they come further apart again nobody is held back.
/// </summary>
[Collection(nameof(TimingSensitiveCollection))]
public sealed class CommitDelayTests : IDisposable
{
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(40);

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Awaited_writes_closer_than_the_delay_share_syncs_and_writes_further_apart_are_not_held_back()
    {
        await using var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { CommitDelay = Delay });
        store.Load();
        int id = 0;

        // 10 ms apart: one sync each on any disk faster than 10 ms per sync, without the delay. The
        // first 40 let the running average of their spacing fall below the delay (from "a second");
        // pairs make 50 commits, and a stall of the test thread beyond the delay costs 8 more (16 for a second one).
        const int Close = 100;
        await WriteSpaced(store, 40, TimeSpan.FromMilliseconds(10), () => ++id);
        long commitsBefore = store.CommitCount;
        await WriteSpaced(store, Close, TimeSpan.FromMilliseconds(10), () => ++id);
        long commits = store.CommitCount - commitsBefore;
        Assert.True(commits <= Close * 3 / 4, $"{Close} awaited writes 10 ms apart took {commits} commits; pairs should share one");

        // 100 ms apart, beyond the delay: after the running average has caught up (a few writes), a
        // write is committed at once instead of waiting the 40 ms for company that does not come.
        TimeSpan[] latencies = await WriteSpaced(store, 15, TimeSpan.FromMilliseconds(100), () => ++id);
        TimeSpan median = latencies[5..].Order().ElementAt(5);
        Assert.True(median < Delay / 2, $"writes 100 ms apart waited {median.TotalMilliseconds:0.0} ms (median of the last 10) to be durable");
        Assert.Equal(id, DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM messages"));
    }

    [Fact]
    public async Task Writes_that_each_wait_for_the_previous_one_to_be_durable_are_rarely_held_back()
    {
        // A client that publishes its next message only when it has the PUBACK: its writes come
        // close together, but never two at a time, so every gathering would wait in vain.
        const int Writes = 300;
        await using var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { CommitDelay = Delay });
        store.Load();
        int heldBack = 0;
        for (int id = 1; id <= Writes; id++)
        {
            long enqueued = Stopwatch.GetTimestamp();
            store.InsertMessage(SampleRecords.Message(id));
            Assert.True(await store.DurableAsync());
            if (Stopwatch.GetElapsedTime(enqueued) >= Delay)
            {
                heldBack++;
            }
        }
        // Gatherings that find no company are tried after 8, 16, 32, ... writes: about 6 in 300.
        Assert.True(heldBack <= 10, $"{heldBack} of {Writes} sequential writes waited the whole commit delay");
    }

    /// <summary>Inserts a message and waits for it to be durable, <paramref name="count"/> times, <paramref name="spacing"/> apart; returns each one's wait.</summary>
    private static async Task<TimeSpan[]> WriteSpaced(SqliteBrokerStore store, int count, TimeSpan spacing, Func<int> nextId)
    {
        var latencies = new TimeSpan[count];
        var outcomes = new Task[count];
        for (int i = 0; i < count; i++)
        {
            int index = i;
            long enqueued = Stopwatch.GetTimestamp();
            var durable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            store.InsertMessage(SampleRecords.Message(nextId()));
            store.WhenDurable(ok =>
            {
                latencies[index] = Stopwatch.GetElapsedTime(enqueued);
                if (ok)
                {
                    durable.SetResult();
                }
                else
                {
                    durable.SetException(new InvalidOperationException("a write was not durable"));
                }
            });
            outcomes[i] = durable.Task;
            Thread.Sleep(spacing);
        }
        await Task.WhenAll(outcomes);
        return latencies;
    }
}

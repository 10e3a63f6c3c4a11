using System.Diagnostics;
using IoTPE.Broker.Storage;
using Xunit.Abstractions;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>
/// Measures the store under the broker's mix with full sync and prints the figures (run with
/// <c>--logger "console;verbosity=detailed"</c> to see them). The asserted floors are far below the
/// measured figures: they catch a lost group commit (one fsync per message), not a slow machine.
/// </summary>
[Collection(nameof(TimingSensitiveCollection))]
public sealed class ThroughputTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Sustained_publish_and_acknowledge_stream_with_full_sync()
    {
        const int InFlight = 2000;      // publishes waiting for PUBACK across all clients
        const int AcknowledgeLag = 1000; // the subscriber's PUBACK arrives this many messages later
        var measure = TimeSpan.FromSeconds(3);
        // Declared before the store so that it outlives the store's last callbacks at dispose.
        using var window = new SemaphoreSlim(InFlight);
        await using var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { SyncMode = SqliteSyncMode.Full });
        store.Load();
        long durable = 0;
        Action<bool> confirm = ok =>
        {
            if (ok)
            {
                Interlocked.Increment(ref durable);
            }
            window.Release();
        };
        var brokerLock = new Lock();
        using var stop = new CancellationTokenSource();

        Task publisher = Task.Factory.StartNew(() =>
        {
            for (long id = 1; !stop.IsCancellationRequested; id++)
            {
                window.Wait();
                var message = new StoredMessage(id, SampleRecords.Packet(id), null, "publisher", null);
                var delivery = new StoredDelivery("subscriber", id, id, 1, false, false, []);
                lock (brokerLock)
                {
                    store.InsertMessage(message);
                    store.InsertDelivery(delivery);
                    if (id > AcknowledgeLag)
                    {
                        store.DeleteDelivery("subscriber", id - AcknowledgeLag);
                        store.DeleteMessage(id - AcknowledgeLag);
                    }
                    store.WhenDurable(confirm);
                }
            }
        }, TaskCreationOptions.LongRunning);

        await Task.Delay(500); // warm-up
        long durableStart = Interlocked.Read(ref durable);
        long commitsStart = store.CommitCount;
        var clock = Stopwatch.StartNew();
        await Task.Delay(measure);
        double seconds = clock.Elapsed.TotalSeconds;
        long messages = Interlocked.Read(ref durable) - durableStart;
        long commits = store.CommitCount - commitsStart;
        await stop.CancelAsync();
        await publisher.WaitAsync(StoreTestExtensions.Patience);

        double messagesPerSecond = messages / seconds;
        output.WriteLine($"full sync: {messagesPerSecond:N0} messages/s durable ({messagesPerSecond * 4:N0} store ops/s: insert message + delivery, delete both), " +
            $"{commits / seconds:N0} commits/s, {(double)messages / Math.Max(commits, 1):N0} messages per commit; WAL+db {store.StoredBytes / 1024:N0} KiB");
        Assert.True(messagesPerSecond > 5_000, $"{messagesPerSecond:N0} messages/s");
    }

    [Fact]
    public async Task Lone_WhenDurable_round_trip_with_full_sync()
    {
        const int Rounds = 300;
        await using var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { SyncMode = SqliteSyncMode.Full });
        store.Load();
        var latencies = new double[Rounds];
        using var done = new ManualResetEventSlim();

        for (int i = 0; i < Rounds; i++)
        {
            done.Reset();
            long id = i + 1;
            long started = Stopwatch.GetTimestamp();
            int round = i;
            store.InsertMessage(SampleRecords.Message(id));
            store.InsertDelivery(SampleRecords.Delivery("c", id, id));
            store.WhenDurable(ok =>
            {
                latencies[round] = ok ? Stopwatch.GetElapsedTime(started).TotalMilliseconds : double.NaN;
                done.Set();
            });
            Assert.True(done.Wait(StoreTestExtensions.Patience));
            await Task.Yield();
        }

        double[] sorted = latencies.Skip(20).Order().ToArray(); // the first rounds warm the JIT
        double Percentile(double p) => sorted[(int)Math.Min(sorted.Length - 1, p * sorted.Length)];
        output.WriteLine($"lone WhenDurable round trip (insert message + delivery, full sync): p50 {Percentile(0.5):F3} ms, p90 {Percentile(0.9):F3} ms, p99 {Percentile(0.99):F3} ms");
        Assert.DoesNotContain(double.NaN, latencies);
        Assert.True(Percentile(0.5) < 50, $"p50 {Percentile(0.5):F3} ms");
    }

    [Fact]
    public async Task Applying_a_batch_allocates_nothing_per_operation()
    {
        const int Messages = 10_000;
        await using var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { SyncMode = SqliteSyncMode.Normal });
        store.Load();

        // Two warm-up batches: the writer swaps two queues, and both must grow to this batch size once.
        await RunBatchAsync(store, firstId: 1, Messages);
        await RunBatchAsync(store, firstId: Messages + 1, Messages);
        StoredMessage[] messages = Enumerable.Range((2 * Messages) + 1, Messages).Select(id => SampleRecords.Message(id)).ToArray();
        StoredDelivery[] deliveries = messages.Select(m => SampleRecords.Delivery("c", m.Id, m.Id)).ToArray();
        var outcome = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        Action<bool> callback = outcome.SetResult;

        long before = GC.GetTotalAllocatedBytes(precise: true);
        store.PauseWriter();
        for (int i = 0; i < Messages; i++)
        {
            store.InsertMessage(messages[i]);
            store.InsertDelivery(deliveries[i]);
            store.DeleteDelivery("c", messages[i].Id - Messages);
            store.DeleteMessage(messages[i].Id - Messages);
        }
        store.WhenDurable(callback);
        store.ResumeWriter();
        Assert.True(await outcome.Task.WaitAsync(StoreTestExtensions.Patience));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        double perOperation = (double)allocated / (Messages * 4);
        output.WriteLine($"{allocated:N0} bytes allocated (all threads) for {Messages * 4:N0} enqueued and applied operations: {perOperation:F2} bytes/op");
        Assert.True(perOperation < 4, $"{perOperation:F2} bytes per operation");
    }

    private static async Task RunBatchAsync(SqliteBrokerStore store, long firstId, int count)
    {
        store.PauseWriter();
        for (long id = firstId; id < firstId + count; id++)
        {
            store.InsertMessage(SampleRecords.Message(id));
            store.InsertDelivery(SampleRecords.Delivery("c", id, id));
            store.DeleteDelivery("c", id - count);
            store.DeleteMessage(id - count);
        }
        Task<bool> durable = store.DurableAsync();
        store.ResumeWriter();
        Assert.True(await durable);
    }
}

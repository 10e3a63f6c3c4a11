using System.Diagnostics;
using IoTPE.Broker.Storage.Sqlite;
using Xunit.Abstractions;

namespace IoTPE.Broker.Storage.MySql.Tests;

/// <summary>
/// A relative measurement, not a benchmark: 100,000 messages, each inserted with a delivery and then
/// deleted with it, through the MySQL store and the SQLite store in the same run, with a callback
/// per message as the broker asks. Reports operations per second; asserts only that all committed.
/// </summary>
public sealed class ThroughputTests(MariaDbFixture fixture, ITestOutputHelper output) : IClassFixture<MariaDbFixture>
{
    private const int Messages = 100_000;

    [Fact]
    [Trait("Category", "Throughput")]
    public async Task Message_and_delivery_inserts_and_deletes_through_both_stores()
    {
        string database = await fixture.NewDatabaseAsync();
        double mysql;
        await using (MySqlBrokerStore store = StoreFactory.Open(database))
        {
            mysql = await RunAsync(store);
        }
        using var folder = new TempFolder();
        double sqlite;
        await using (var store = new SqliteBrokerStore(folder.Path, new SqliteBrokerStoreOptions { Log = _ => { } }))
        {
            sqlite = await RunAsync(store);
        }
        output.WriteLine($"MySQL (MariaDB): {mysql:N0} operations/s; SQLite (sync full): {sqlite:N0} operations/s; ratio {mysql / sqlite:P0}");
    }

    /// <summary>Keeps a window of messages in flight, as publishers and subscribers do, and returns store operations per second.</summary>
    private static async Task<double> RunAsync(IBrokerStore store)
    {
        const int Window = 2000;
        var inFlight = new SemaphoreSlim(Window);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int failures = 0;
        int completed = 0;
        object gate = new(); // the broker calls its store under one lock
        var watch = Stopwatch.StartNew();
        for (long id = 1; id <= Messages; id++)
        {
            await inFlight.WaitAsync();
            long message = id;
            lock (gate)
            {
                store.InsertMessage(SampleRecords.Message(message));
                store.InsertDelivery(SampleRecords.Delivery("subscriber", message, message));
                store.WhenDurable(durable =>
                {
                    if (!durable)
                    {
                        Interlocked.Increment(ref failures);
                    }
                    lock (gate)
                    {
                        // The subscriber acknowledged: the delivery and the message go.
                        store.DeleteDelivery("subscriber", message);
                        store.DeleteMessage(message);
                        store.WhenDurable(deleted =>
                        {
                            if (!deleted)
                            {
                                Interlocked.Increment(ref failures);
                            }
                            inFlight.Release();
                            if (Interlocked.Increment(ref completed) == Messages)
                            {
                                done.SetResult();
                            }
                        });
                    }
                });
            }
        }
        await done.Task.WaitAsync(TimeSpan.FromMinutes(10));
        Assert.Equal(0, failures);
        return Messages * 4 / watch.Elapsed.TotalSeconds;
    }
}

using System.Collections.Concurrent;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>Several threads write in turn under one lock, as the broker's connections do.</summary>
public sealed class ConcurrentWriterTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Writes_from_several_threads_under_the_broker_lock_all_commit_in_lock_order()
    {
        const int Threads = 4;
        const int PerThread = 2000;
        var brokerLock = new Lock();
        long nextId = 0;
        var confirmed = new ConcurrentQueue<(long Id, bool Durable)>();

        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            Task[] writers = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
            {
                for (int i = 0; i < PerThread; i++)
                {
                    lock (brokerLock)
                    {
                        long id = ++nextId;
                        store.InsertMessage(SampleRecords.Message(id));
                        store.InsertDelivery(SampleRecords.Delivery("client-" + t, id, id));
                        store.WhenDurable(ok => confirmed.Enqueue((id, ok)));
                    }
                }
            })).ToArray();
            await Task.WhenAll(writers).WaitAsync(StoreTestExtensions.Patience);
            Assert.True(await store.DurableAsync());
        }

        Assert.Equal(Enumerable.Range(1, Threads * PerThread).Select(i => ((long)i, true)), confirmed);
        await using var reopened = new SqliteBrokerStore(_folder.Path);
        var state = reopened.Load();
        Assert.Equal(Threads * PerThread, state.Messages.Count);
        Assert.Equal(Threads * PerThread, state.Deliveries.Count);
        Assert.All(state.Deliveries, d => Assert.Equal(d.Sequence, d.MessageId));
    }
}

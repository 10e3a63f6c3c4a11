using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>Writes apply in the order they were enqueued, whether they share a batch or not.</summary>
public sealed class WriteOrderTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Insert_then_delete_of_one_delivery_in_one_batch_leaves_nothing()
    {
        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            store.InsertMessage(SampleRecords.Message(1));
            store.SetRetained("keep", 1);
            Assert.True(await store.DurableAsync());
            long commitsBefore = store.CommitCount;

            store.PauseWriter();
            store.InsertDelivery(SampleRecords.Delivery("c", 1, 1));
            store.DeleteDelivery("c", 1);
            Task<bool> durable = store.DurableAsync();
            store.ResumeWriter();

            Assert.True(await durable);
            Assert.Equal(commitsBefore + 1, store.CommitCount); // really one batch
        }

        Assert.Empty(Load().Deliveries);
    }

    [Fact]
    public async Task Insert_then_delete_of_one_delivery_in_two_batches_leaves_nothing()
    {
        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            store.InsertMessage(SampleRecords.Message(1));
            store.SetRetained("keep", 1);
            store.InsertDelivery(SampleRecords.Delivery("c", 1, 1));
            Assert.True(await store.DurableAsync());
            long commitsBefore = store.CommitCount;
            store.DeleteDelivery("c", 1);
            Assert.True(await store.DurableAsync());
            Assert.Equal(commitsBefore + 1, store.CommitCount);
        }

        Assert.Empty(Load().Deliveries);
    }

    [Fact]
    public async Task Delete_then_insert_in_one_batch_leaves_the_row()
    {
        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            store.InsertMessage(SampleRecords.Message(1));
            store.SetRetained("keep", 1);
            Assert.True(await store.DurableAsync());

            store.PauseWriter();
            store.DeleteDelivery("c", 1);
            store.InsertDelivery(SampleRecords.Delivery("c", 1, 1));
            store.MarkDeliveryReleased("c", 1);
            Task<bool> durable = store.DurableAsync();
            store.ResumeWriter();
            Assert.True(await durable);
        }

        StoredDelivery delivery = Assert.Single(Load().Deliveries);
        Assert.True(delivery.Released);
    }

    [Fact]
    public async Task The_last_of_several_replacements_in_one_batch_wins()
    {
        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            store.PauseWriter();
            for (int i = 0; i < 50; i++)
            {
                store.SaveSession(new StoredSession("c", 5, (uint)i, null, null));
                store.SaveSubscription(new StoredSubscription("c", "t", (byte)(i % 3), (uint)i));
            }
            store.DeleteSubscription("c", "t");
            store.SaveSubscription(new StoredSubscription("c", "t", 2, 99));
            Task<bool> durable = store.DurableAsync();
            store.ResumeWriter();
            Assert.True(await durable);
        }

        StoredBrokerState state = Load();
        Assert.Equal(49u, Assert.Single(state.Sessions).ExpiryIntervalSeconds);
        Assert.Equal(new StoredSubscription("c", "t", 2, 99), Assert.Single(state.Subscriptions));
    }

    private StoredBrokerState Load()
    {
        var store = new SqliteBrokerStore(_folder.Path);
        try
        {
            return store.Load();
        }
        finally
        {
            store.DisposeAsync().AsTask().Wait(StoreTestExtensions.Patience);
        }
    }
}

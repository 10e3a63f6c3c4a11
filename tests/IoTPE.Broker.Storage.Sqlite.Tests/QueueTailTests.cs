using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>
/// The store's side of a session queue kept on disk beyond a window: <c>Load(window)</c> returns
/// only the first deliveries of each session and the messages the broker must hold,
/// <c>ReadDeliveries</c> pages through the rest in order, and <c>DeleteDeliveriesAfter</c> deletes a
/// tail with the messages only it referred to, leaving no orphan.
/// </summary>
public sealed class QueueTailTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Load_with_a_window_returns_the_first_deliveries_of_each_session_and_only_the_messages_it_needs()
    {
        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            for (long id = 1; id <= 12; id++)
            {
                store.InsertMessage(SampleRecords.Message(id));
            }
            for (long sequence = 0; sequence < 10; sequence++)
            {
                store.InsertDelivery(SampleRecords.Delivery("a", sequence, sequence + 1)); // messages 1..10
            }
            store.InsertDelivery(SampleRecords.Delivery("b", 0, 9)); // message 9 is shared with a's tail
            store.InsertDelivery(SampleRecords.Delivery("b", 1, 11));
            store.SetRetained("r", 12);
            Assert.True(await store.DurableAsync());
        }

        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            StoredBrokerState state = store.Load(3);
            Assert.Equal(["a/0", "a/1", "a/2", "b/0", "b/1"], state.Deliveries.Select(d => $"{d.ClientId}/{d.Sequence}"));
            // a's window (1, 2, 3), b's (9, 11), the retained one (12); 9 is shared by two deliveries anyway.
            Assert.Equal([1L, 2L, 3L, 9L, 11L, 12L], state.Messages.Select(m => m.Id));

            IReadOnlyList<StoredQueuedDelivery> page = store.ReadDeliveries("a", 2, 4);
            Assert.Equal([3L, 4L, 5L, 6L], page.Select(d => d.Delivery.Sequence));
            Assert.Equal([4L, 5L, 6L, 7L], page.Select(d => d.Message!.Id));
            Assert.Equal(SampleRecords.Packet(4), page[0].Message!.Packet);
            Assert.Equal([7L, 8L, 9L], store.ReadDeliveries("a", 6, 100).Select(d => d.Delivery.Sequence));
            Assert.Empty(store.ReadDeliveries("a", 9, 100));
            Assert.Empty(store.ReadDeliveries("nobody", -1, 100));
        }
    }

    [Fact]
    public async Task ReadDeliveries_sees_committed_rows_only_and_gives_a_missing_message_as_null()
    {
        await using var store = new SqliteBrokerStore(_folder.Path);
        store.Load();
        store.InsertMessage(SampleRecords.Message(1));
        store.InsertDelivery(SampleRecords.Delivery("c", 1, 1));
        store.InsertDelivery(SampleRecords.Delivery("c", 2, 99)); // no such message
        Assert.True(await store.DurableAsync());

        store.PauseWriter();
        try
        {
            store.InsertMessage(SampleRecords.Message(2));
            store.InsertDelivery(SampleRecords.Delivery("c", 3, 2));
            IReadOnlyList<StoredQueuedDelivery> rows = store.ReadDeliveries("c", 0, 10);
            Assert.Equal([1L, 2L], rows.Select(r => r.Delivery.Sequence));
            Assert.NotNull(rows[0].Message);
            Assert.Null(rows[1].Message);
        }
        finally
        {
            store.ResumeWriter();
        }
        Assert.True(await store.DurableAsync());
        Assert.Equal([1L, 2L, 3L], store.ReadDeliveries("c", 0, 10).Select(r => r.Delivery.Sequence));
    }

    [Fact]
    public async Task DeleteDeliveriesAfter_deletes_the_tail_and_the_messages_only_it_referred_to()
    {
        string databasePath;
        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            databasePath = store.DatabasePath;
            store.Load();
            for (long id = 1; id <= 6; id++)
            {
                store.InsertMessage(SampleRecords.Message(id));
            }
            store.InsertDelivery(SampleRecords.Delivery("s", 1, 1)); // in memory: stays
            store.InsertDelivery(SampleRecords.Delivery("s", 2, 2)); // tail, only here: goes
            store.InsertDelivery(SampleRecords.Delivery("s", 3, 3)); // tail, also another session's: stays
            store.InsertDelivery(SampleRecords.Delivery("other", 1, 3));
            store.InsertDelivery(SampleRecords.Delivery("s", 4, 4)); // tail, also retained: stays
            store.SetRetained("r", 4);
            store.InsertDelivery(SampleRecords.Delivery("s", 5, 5)); // tail, only here: goes
            store.InsertDelivery(SampleRecords.Delivery("s", 6, 1)); // tail, message also at sequence 1: stays
            store.DeleteDeliveriesAfter("s", 1);
            Assert.True(await store.DurableAsync());
        }

        Assert.Equal(1, DatabaseProbe.Scalar(databasePath, "SELECT count(*) FROM deliveries WHERE client_id = 's'"));
        Assert.Equal(1, DatabaseProbe.Scalar(databasePath, "SELECT count(*) FROM deliveries WHERE client_id = 'other'"));
        Assert.Equal(0, DatabaseProbe.Scalar(databasePath, "SELECT count(*) FROM messages WHERE id IN (2, 5)"));
        Assert.Equal(4, DatabaseProbe.Scalar(databasePath, "SELECT count(*) FROM messages WHERE id IN (1, 3, 4, 6)"));
        // Nothing left for the orphan sweep but message 6, which nothing ever referred to.
        Assert.Equal(1, DatabaseProbe.Scalar(databasePath,
            "SELECT count(*) FROM messages WHERE id NOT IN (SELECT message_id FROM deliveries) AND id NOT IN (SELECT message_id FROM retained)"));
    }
}

using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Storage.MySql.Tests;

/// <summary>
/// The store's side of a session queue kept in the database beyond a window (as on SQLite):
/// <c>Load(window)</c> returns only the first deliveries of each session and the messages the broker
/// must hold, <c>ReadDeliveries</c> pages through the rest in order, and <c>DeleteDeliveriesAfter</c>
/// deletes a tail with the messages only it referred to, leaving no orphan, in its place in the
/// batch's order.
/// </summary>
public sealed class QueueTailTests(MariaDbFixture fixture) : IClassFixture<MariaDbFixture>
{
    [Fact]
    public async Task Load_with_a_window_returns_the_first_deliveries_of_each_session_and_only_the_messages_it_needs()
    {
        string database = await fixture.NewDatabaseAsync();
        await using (MySqlBrokerStore store = StoreFactory.Open(database))
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

        await using (MySqlBrokerStore store = StoreFactory.Open(database))
        {
            StoredBrokerState state = store.Load(3);
            Assert.Equal(["a/0", "a/1", "a/2", "b/0", "b/1"], state.Deliveries.Select(d => $"{d.ClientId}/{d.Sequence}"));
            // a's window (1, 2, 3), b's (9, 11), the retained one (12); 9 is shared by two deliveries anyway.
            Assert.Equal([1L, 2L, 3L, 9L, 11L, 12L], state.Messages.Select(m => m.Id));

            IReadOnlyList<StoredQueuedDelivery> page = store.ReadDeliveries("a", 2, 4);
            Assert.Equal([3L, 4L, 5L, 6L], page.Select(d => d.Delivery.Sequence));
            Assert.Equal([4L, 5L, 6L, 7L], page.Select(d => d.Message!.Id));
            Assert.Equal(SampleRecords.Packet(4), page[0].Message!.Packet);
            Assert.Equal("publisher-1", page[0].Message!.Publisher);
            Assert.Equal([7L, 8L, 9L], store.ReadDeliveries("a", 6, 100).Select(d => d.Delivery.Sequence));
            Assert.Empty(store.ReadDeliveries("a", 9, 100));
            Assert.Empty(store.ReadDeliveries("nobody", -1, 100));

            // Without a window, everything, as Load() gives it.
            Assert.Equal(12, store.Load(int.MaxValue).Deliveries.Count);
        }
    }

    [Fact]
    public async Task ReadDeliveries_sees_committed_rows_only_and_gives_a_missing_message_as_null()
    {
        string database = await fixture.NewDatabaseAsync();
        await using MySqlBrokerStore store = StoreFactory.Open(database);
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
        string database = await fixture.NewDatabaseAsync();
        await using (MySqlBrokerStore store = StoreFactory.Open(database))
        {
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

        Assert.Equal("1\t1", await QueryAsync(database,
            "SELECT (SELECT COUNT(*) FROM deliveries WHERE client_id = 's'), (SELECT COUNT(*) FROM deliveries WHERE client_id = 'other')"));
        Assert.Equal("1\n3\n4\n6", await QueryAsync(database, "SELECT id FROM messages ORDER BY id"));
        // Nothing left for the orphan sweep but message 6, which nothing ever referred to.
        Assert.Equal("6", await QueryAsync(database,
            "SELECT id FROM messages WHERE id NOT IN (SELECT message_id FROM deliveries) AND id NOT IN (SELECT message_id FROM retained)"));
    }

    [Fact]
    public async Task DeleteDeliveriesAfter_applies_in_its_place_among_the_writes_of_one_batch()
    {
        string database = await fixture.NewDatabaseAsync();
        await using (MySqlBrokerStore store = StoreFactory.Open(database))
        {
            store.Load();
            store.PauseWriter();
            try
            {
                // All in one batch, which the writer otherwise applies table by table.
                store.InsertMessage(SampleRecords.Message(1));
                store.InsertDelivery(SampleRecords.Delivery("s", 1, 1)); // before: deleted with its message
                store.InsertMessage(SampleRecords.Message(2));
                store.InsertDelivery(SampleRecords.Delivery("s", 2, 2));
                store.DeleteMessage(2); // the broker's own delete of a message it tracked: not the tail's
                store.DeleteDeliveriesAfter("s", 0);
                store.InsertMessage(SampleRecords.Message(3));
                store.InsertDelivery(SampleRecords.Delivery("s", 1, 3)); // after: a new queue at the same sequence stays
                store.SetRetained("kept", 3);
                store.ClearRetained("kept");
            }
            finally
            {
                store.ResumeWriter();
            }
            Assert.True(await store.DurableAsync());
        }

        Assert.Equal("s\t1\t3", await QueryAsync(database, "SELECT client_id, sequence, message_id FROM deliveries"));
        Assert.Equal("3", await QueryAsync(database, "SELECT id FROM messages"));
    }

    private async Task<string> QueryAsync(string database, string sql) =>
        (await fixture.QueryAsync(database, sql)).Trim().Replace("\r", "", StringComparison.Ordinal);
}

namespace IoTPE.Broker.Storage.MySql.Tests;

/// <summary>
/// Writes apply in the order they were enqueued, also when one batch touches a row several times
/// and the store groups the batch's writes into multi-row statements.
/// </summary>
public sealed class WriteOrderTests(MariaDbFixture fixture) : IClassFixture<MariaDbFixture>
{
    [Fact]
    public async Task Writes_to_one_row_within_a_batch_keep_their_order()
    {
        string database = await fixture.NewDatabaseAsync();
        await using (MySqlBrokerStore store = StoreFactory.Open(database))
        {
            store.PauseWriter();
            store.InsertMessage(SampleRecords.Message(1));
            store.DeleteMessage(1);
            store.InsertMessage(SampleRecords.Message(1, 300)); // the same id again, after its delete
            store.SaveSession(new StoredSession("c", 4, 10, null, null));
            store.SaveSession(new StoredSession("c", 5, 20, 5, "u")); // the later save wins
            store.InsertDelivery(SampleRecords.Delivery("c", 1, 1));
            store.SaveSubscription(new StoredSubscription("c", "old", 1, 0));
            store.DeleteSession("c"); // takes the delivery and the subscription with it
            store.SaveSession(new StoredSession("c", 5, 30, null, null));
            store.InsertDelivery(SampleRecords.Delivery("c", 2, 1)); // after the delete: stays
            store.SetRetained("r", 1);
            store.ClearRetained("r");
            store.SetRetained("s", 1);
            store.AddIncomingPacketIdentifier("c", 4);
            store.RemoveIncomingPacketIdentifier("c", 4);
            store.AddIncomingPacketIdentifier("c", 4);
            Task<bool> durable = store.DurableAsync();
            store.ResumeWriter();
            Assert.True(await durable);
        }

        StoredBrokerState state = await StoreFactory.LoadAsync(database);
        Assert.Equal([new StoredSession("c", 5, 30, null, null)], state.Sessions);
        Assert.Empty(state.Subscriptions);
        Assert.Equal([2L], state.Deliveries.Select(d => d.Sequence));
        Assert.Equal(300, Assert.Single(state.Messages).Packet.Length);
        Assert.Equal([new StoredRetained("s", 1)], state.Retained);
        Assert.Equal([new StoredIncomingPacketIdentifier("c", 4)], state.IncomingPacketIdentifiers);
    }

    [Fact]
    public async Task A_refused_write_fails_only_its_own_callback_and_the_rest_of_the_batch_commits()
    {
        string database = await fixture.NewDatabaseAsync();
        var log = new CollectingLog();
        await using (MySqlBrokerStore store = StoreFactory.Open(database, log))
        {
            store.InsertMessage(SampleRecords.Message(1));
            store.SetRetained("t/1", 1);
            Assert.True(await store.DurableAsync());

            store.PauseWriter();
            store.InsertMessage(new StoredMessage(1, [0xFF], null, null, null)); // duplicate id: a broker bug
            store.InsertDelivery(SampleRecords.Delivery("s", 1, 1)); // same epoch: the broker drops it
            Task<bool> duplicate = store.DurableAsync();
            store.SaveSession(new StoredSession(null!, 5, 0, null, null)); // a null key
            Task<bool> nullKey = store.DurableAsync();
            store.InsertMessage(SampleRecords.Message(2));
            store.SetRetained("t/2", 2);
            store.InsertDelivery(SampleRecords.Delivery("s", 2, 2));
            Task<bool> valid = store.DurableAsync();
            store.ResumeWriter();

            bool[] outcomes = await Task.WhenAll(duplicate, nullKey, valid);
            Assert.Equal([false, false, true], outcomes);
            Assert.Equal(0, store.FailedBatchCount);
            Assert.Contains(log.Lines, line => line.Contains("was refused and skipped", StringComparison.Ordinal));
        }

        StoredBrokerState state = await StoreFactory.LoadAsync(database);
        Assert.Equal([1L, 2L], state.Messages.Select(m => m.Id));
        Assert.Equal(SampleRecords.Packet(1), state.Messages[0].Packet);
        Assert.Empty(state.Sessions);
        Assert.Equal([2L], state.Deliveries.Select(d => d.Sequence)); // the refused epoch's delivery is not kept
    }

    [Fact]
    public async Task A_message_larger_than_the_server_accepts_is_refused_and_the_store_goes_on()
    {
        string database = await fixture.NewDatabaseAsync();
        long maxPacket = long.Parse((await fixture.Server.ExecuteAsRootAsync("SELECT @@max_allowed_packet")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        byte[] huge = new byte[maxPacket + 1];
        await using MySqlBrokerStore store = StoreFactory.Open(database);
        store.InsertMessage(new StoredMessage(1, SampleRecords.Packet(1), null, null, null) { PayloadApart = true, Payload = huge, PayloadLength = huge.Length });
        Assert.False(await store.DurableAsync());
        store.InsertMessage(SampleRecords.Message(2));
        Assert.True(await store.DurableAsync());
        Assert.Null(store.ReadPayload(1));
    }
}

namespace IoTPE.Broker.Storage.MySql.Tests;

/// <summary>Every record kind goes through the store and comes back from Load in a new store, as written.</summary>
public sealed class StoreRoundTripTests(MariaDbFixture fixture) : IClassFixture<MariaDbFixture>
{
    [Fact]
    public async Task Every_record_kind_comes_back_after_a_reopen()
    {
        string database = await fixture.NewDatabaseAsync();
        byte[] payload = [.. Enumerable.Range(0, 70_000).Select(i => (byte)i)];
        await using (MySqlBrokerStore store = StoreFactory.Open(database))
        {
            Assert.Empty(store.Load().Sessions);
            store.SaveSession(new StoredSession("acct:device-1", 5, uint.MaxValue, null, "acct"));
            store.SaveSession(new StoredSession("a", 4, 60, 1_700_000_000_123, null));
            store.SaveSession(new StoredSession("a ", 3, 0, null, null)); // not the same client as "a"
            store.SaveSession(new StoredSession("ünï:cödé", 5, 10, null, "ünï"));
            store.SaveSubscription(new StoredSubscription("acct:device-1", "/acct/+/temp", 0x26, 7));
            store.SaveSubscription(new StoredSubscription("acct:device-1", "$share/g/#", 1, 0));
            store.ReserveMessageIds(100_000);
            store.InsertMessage(SampleRecords.Message(1));
            store.InsertMessage(new StoredMessage(2, SampleRecords.Packet(2), 1_800_000_000_000, null, "acct")
            {
                PayloadApart = true,
                Payload = payload,
                PayloadLength = payload.Length,
                StoredAtUnixMs = 1_700_000_000_999,
            });
            store.InsertMessage(new StoredMessage(3, SampleRecords.Packet(3), null, "p", null) { PayloadApart = true, PayloadLength = 0 });
            store.InsertDelivery(new StoredDelivery("acct:device-1", 1, 1, 1, false, false, []));
            store.InsertDelivery(new StoredDelivery("acct:device-1", 2, 2, 2, true, false, [7, uint.MaxValue]));
            store.MarkDeliveryReleased("acct:device-1", 2);
            store.AddIncomingPacketIdentifier("acct:device-1", 65535);
            store.AddIncomingPacketIdentifier("acct:device-1", 65535); // a resend: idempotent
            store.AddIncomingPacketIdentifier("a", 1);
            store.SetRetained("/acct/status", 2);
            store.SetRetained("/acct/other", 3);
            Assert.True(await store.DurableAsync());
            Assert.Equal(payload, store.ReadPayload(2));
            Assert.Equal(0, store.ReadPayload(3)?.Length);
            Assert.Null(store.ReadPayload(1)); // payload inside the packet
            Assert.Null(store.ReadPayload(99));
        }

        StoredBrokerState state = await StoreFactory.LoadAsync(database);
        Assert.Equal(
            [new StoredSession("a", 4, 60, 1_700_000_000_123, null), new StoredSession("a ", 3, 0, null, null),
             new StoredSession("acct:device-1", 5, uint.MaxValue, null, "acct"), new StoredSession("ünï:cödé", 5, 10, null, "ünï")],
            state.Sessions);
        Assert.Equal([new StoredSubscription("acct:device-1", "$share/g/#", 1, 0), new StoredSubscription("acct:device-1", "/acct/+/temp", 0x26, 7)], state.Subscriptions);
        Assert.Equal([1L, 2L, 3L], state.Messages.Select(m => m.Id));
        Assert.Equal(SampleRecords.Packet(1), state.Messages[0].Packet);
        Assert.False(state.Messages[0].PayloadApart);
        Assert.Equal("publisher-1", state.Messages[0].Publisher);
        StoredMessage second = state.Messages[1];
        Assert.True(second.PayloadApart);
        Assert.Equal(payload.Length, second.PayloadLength);
        Assert.True(second.Payload.IsEmpty); // Load leaves payloads on disk
        Assert.Equal((1_800_000_000_000L, (string?)null, "acct", 1_700_000_000_999L), (second.ExpiresAtUnixMs!.Value, second.Publisher, second.PublisherUserName, second.StoredAtUnixMs!.Value));
        Assert.True(state.Messages[2].PayloadApart);
        Assert.Equal(0, state.Messages[2].PayloadLength);
        Assert.Equal(2, state.Deliveries.Count);
        Assert.Equal(("acct:device-1", 1L, 1L, (byte)1, false, false), (state.Deliveries[0].ClientId, state.Deliveries[0].Sequence, state.Deliveries[0].MessageId, state.Deliveries[0].QoS, state.Deliveries[0].Retain, state.Deliveries[0].Released));
        Assert.Empty(state.Deliveries[0].SubscriptionIdentifiers);
        Assert.Equal((2L, (byte)2, true, true), (state.Deliveries[1].MessageId, state.Deliveries[1].QoS, state.Deliveries[1].Retain, state.Deliveries[1].Released));
        Assert.Equal([7u, uint.MaxValue], state.Deliveries[1].SubscriptionIdentifiers);
        Assert.Equal([new StoredIncomingPacketIdentifier("a", 1), new StoredIncomingPacketIdentifier("acct:device-1", 65535)], state.IncomingPacketIdentifiers);
        Assert.Equal([new StoredRetained("/acct/other", 3), new StoredRetained("/acct/status", 2)], state.Retained);
        Assert.Equal(100_000, state.MessageIdsReservedUpTo);
    }

    [Fact]
    public async Task Deleting_a_session_deletes_its_rows_and_nothing_else_and_Load_sweeps_orphaned_messages()
    {
        string database = await fixture.NewDatabaseAsync();
        await using (MySqlBrokerStore store = StoreFactory.Open(database))
        {
            foreach (string client in new[] { "gone", "kept" })
            {
                store.SaveSession(new StoredSession(client, 5, 60, null, null));
                store.SaveSubscription(new StoredSubscription(client, "t/#", 1, 0));
                store.AddIncomingPacketIdentifier(client, 9);
            }
            store.InsertMessage(SampleRecords.Message(1));
            store.InsertMessage(SampleRecords.Message(2));
            store.InsertMessage(SampleRecords.Message(3));
            store.InsertDelivery(SampleRecords.Delivery("gone", 1, 1));
            store.InsertDelivery(SampleRecords.Delivery("kept", 1, 2));
            store.SetRetained("r", 3);
            store.ReserveMessageIds(200);
            store.ReserveMessageIds(100); // never goes back
            Assert.True(await store.DurableAsync());
            store.DeleteSession("gone");
            store.DeleteSubscription("kept", "t/#");
            store.RemoveIncomingPacketIdentifier("kept", 9);
            Assert.True(await store.DurableAsync());
        }

        StoredBrokerState state = await StoreFactory.LoadAsync(database);
        Assert.Equal(["kept"], state.Sessions.Select(s => s.ClientId));
        Assert.Empty(state.Subscriptions);
        Assert.Empty(state.IncomingPacketIdentifiers);
        Assert.Equal([("kept", 1L)], state.Deliveries.Select(d => (d.ClientId, d.Sequence)));
        Assert.Equal([2L, 3L], state.Messages.Select(m => m.Id)); // message 1 lost its only delivery: swept
        Assert.Equal(200, state.MessageIdsReservedUpTo);
    }

    [Fact]
    public async Task A_second_store_on_the_same_database_is_refused()
    {
        string database = await fixture.NewDatabaseAsync();
        await using MySqlBrokerStore first = StoreFactory.Open(database);
        Assert.Throws<MySqlBrokerStoreException>(() => StoreFactory.Open(database));
        first.InsertMessage(SampleRecords.Message(1));
        Assert.True(await first.DurableAsync());
    }
}

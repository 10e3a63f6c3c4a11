using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>Every write method, committed, then read back by a new store on the same folder.</summary>
public sealed class StoreRoundTripTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Sessions_round_trip_with_every_field()
    {
        await WriteAsync(store =>
        {
            store.SaveSession(new StoredSession("sensor-1", 5, uint.MaxValue, null, "alice"));
            store.SaveSession(new StoredSession("sensor-2", 4, 3600, 1_700_000_000_123, null));
            store.SaveSession(new StoredSession("capteur-é-😀", 3, 0, 42, string.Empty));
        });

        StoredBrokerState state = await LoadAsync();

        Assert.Equal(
            [
                new StoredSession("capteur-é-😀", 3, 0, 42, string.Empty),
                new StoredSession("sensor-1", 5, uint.MaxValue, null, "alice"),
                new StoredSession("sensor-2", 4, 3600, 1_700_000_000_123, null),
            ],
            state.Sessions.OrderBy(s => s.ClientId, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Saving_a_session_again_replaces_it()
    {
        await WriteAsync(store =>
        {
            store.SaveSession(new StoredSession("c", 5, 60, null, "alice"));
            store.SaveSession(new StoredSession("c", 4, 120, 99, null));
        });

        StoredBrokerState state = await LoadAsync();

        Assert.Equal([new StoredSession("c", 4, 120, 99, null)], state.Sessions);
    }

    [Fact]
    public async Task Deleting_a_session_removes_its_subscriptions_deliveries_and_incoming_identifiers_only()
    {
        await WriteAsync(store =>
        {
            foreach (string client in new[] { "a", "b" })
            {
                store.SaveSession(new StoredSession(client, 5, 60, null, null));
                store.SaveSubscription(new StoredSubscription(client, "t/#", 1, 0));
                store.InsertDelivery(SampleRecords.Delivery(client, 1, 7));
                store.AddIncomingPacketIdentifier(client, 10);
            }
            store.InsertMessage(SampleRecords.Message(7));
        });
        await WriteAsync(store => store.DeleteSession("a"));

        StoredBrokerState state = await LoadAsync();

        Assert.Equal(["b"], state.Sessions.Select(s => s.ClientId));
        Assert.Equal(["b"], state.Subscriptions.Select(s => s.ClientId));
        Assert.Equal(["b"], state.Deliveries.Select(d => d.ClientId));
        Assert.Equal(["b"], state.IncomingPacketIdentifiers.Select(i => i.ClientId));
        Assert.Equal([7L], state.Messages.Select(m => m.Id));
    }

    [Fact]
    public async Task Subscriptions_round_trip_replace_and_delete()
    {
        await WriteAsync(store =>
        {
            store.SaveSubscription(new StoredSubscription("c", "$share/g/sensors/+/temp", 0b0010_1110, 268_435_455));
            store.SaveSubscription(new StoredSubscription("c", "a/b", 1, 0));
            store.SaveSubscription(new StoredSubscription("c", "a/b", 2, 5));
            store.SaveSubscription(new StoredSubscription("c", "gone/#", 0, 0));
            store.SaveSubscription(new StoredSubscription("d", "gone/#", 0, 0));
        });
        await WriteAsync(store => store.DeleteSubscription("c", "gone/#"));

        StoredBrokerState state = await LoadAsync();

        Assert.Equal(
            [
                new StoredSubscription("c", "$share/g/sensors/+/temp", 0b0010_1110, 268_435_455),
                new StoredSubscription("c", "a/b", 2, 5),
                new StoredSubscription("d", "gone/#", 0, 0),
            ],
            state.Subscriptions.OrderBy(s => s.ClientId, StringComparer.Ordinal).ThenBy(s => s.TopicFilter, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Messages_round_trip_byte_for_byte_and_delete()
    {
        byte[] large = SampleRecords.Packet(3, 256 * 1024);
        await WriteAsync(store =>
        {
            store.InsertMessage(new StoredMessage(1, SampleRecords.Packet(1), 1_800_000_000_000, "pub", "alice"));
            store.InsertMessage(new StoredMessage(2, SampleRecords.Packet(2), null, null, null));
            store.InsertMessage(new StoredMessage(3, large, null, "pub", string.Empty));
            store.InsertMessage(SampleRecords.Message(4));
            // Keep them referenced so that the orphan sweep of Load leaves them alone.
            for (long id = 1; id <= 4; id++)
            {
                store.SetRetained("r/" + id, id);
            }
        });
        await WriteAsync(store =>
        {
            store.DeleteMessage(4);
            store.ClearRetained("r/4");
        });

        StoredBrokerState state = await LoadAsync();

        Assert.Equal([1L, 2L, 3L], state.Messages.Select(m => m.Id));
        StoredMessage first = state.Messages[0];
        Assert.Equal(SampleRecords.Packet(1), first.Packet);
        Assert.Equal(1_800_000_000_000, first.ExpiresAtUnixMs);
        Assert.Equal("pub", first.Publisher);
        Assert.Equal("alice", first.PublisherUserName);
        Assert.Null(state.Messages[1].ExpiresAtUnixMs);
        Assert.Null(state.Messages[1].Publisher);
        Assert.Null(state.Messages[1].PublisherUserName);
        Assert.Equal(large, state.Messages[2].Packet);
        Assert.Equal(string.Empty, state.Messages[2].PublisherUserName);
    }

    [Fact]
    public async Task Deliveries_round_trip_ordered_by_client_and_sequence()
    {
        await WriteAsync(store =>
        {
            store.InsertMessage(SampleRecords.Message(1));
            store.InsertDelivery(new StoredDelivery("b", 10, 1, 2, true, false, [1, 268_435_455, uint.MaxValue]));
            store.InsertDelivery(new StoredDelivery("a", 3, 1, 1, false, false, []));
            store.InsertDelivery(new StoredDelivery("b", 2, 1, 0, false, false, [7]));
            store.InsertDelivery(new StoredDelivery("a", 1, 1, 2, false, true, []));
        });

        StoredBrokerState state = await LoadAsync();

        Assert.Equal(
            [("a", 1L), ("a", 3L), ("b", 2L), ("b", 10L)],
            state.Deliveries.Select(d => (d.ClientId, d.Sequence)));
        StoredDelivery withIdentifiers = state.Deliveries[3];
        Assert.Equal((1L, (byte)2, true, false), (withIdentifiers.MessageId, withIdentifiers.QoS, withIdentifiers.Retain, withIdentifiers.Released));
        Assert.Equal([1u, 268_435_455u, uint.MaxValue], withIdentifiers.SubscriptionIdentifiers);
        Assert.Equal([7u], state.Deliveries[2].SubscriptionIdentifiers);
        Assert.Empty(state.Deliveries[1].SubscriptionIdentifiers);
        Assert.True(state.Deliveries[0].Released);
    }

    [Fact]
    public async Task Marking_a_delivery_released_and_deleting_one_are_stored()
    {
        await WriteAsync(store =>
        {
            store.InsertMessage(SampleRecords.Message(1));
            store.InsertDelivery(SampleRecords.Delivery("c", 1, 1) with { QoS = 2 });
            store.InsertDelivery(SampleRecords.Delivery("c", 2, 1) with { QoS = 2 });
            store.InsertDelivery(SampleRecords.Delivery("c", 3, 1));
        });
        await WriteAsync(store =>
        {
            store.MarkDeliveryReleased("c", 2);
            store.DeleteDelivery("c", 3);
        });

        StoredBrokerState state = await LoadAsync();

        Assert.Equal([(1L, false), (2L, true)], state.Deliveries.Select(d => (d.Sequence, d.Released)));
    }

    [Fact]
    public async Task Incoming_packet_identifiers_are_a_set_per_client()
    {
        await WriteAsync(store =>
        {
            store.AddIncomingPacketIdentifier("c", 1);
            store.AddIncomingPacketIdentifier("c", 65535);
            store.AddIncomingPacketIdentifier("c", 1); // a DUP resend after reconnect
            store.AddIncomingPacketIdentifier("c", 300);
            store.AddIncomingPacketIdentifier("d", 1);
        });
        await WriteAsync(store => store.RemoveIncomingPacketIdentifier("c", 300));

        StoredBrokerState state = await LoadAsync();

        Assert.Equal(
            [new StoredIncomingPacketIdentifier("c", 1), new StoredIncomingPacketIdentifier("c", 65535), new StoredIncomingPacketIdentifier("d", 1)],
            state.IncomingPacketIdentifiers);
    }

    [Fact]
    public async Task Retained_entries_set_replace_and_clear()
    {
        await WriteAsync(store =>
        {
            for (long id = 1; id <= 3; id++)
            {
                store.InsertMessage(SampleRecords.Message(id));
            }
            store.SetRetained("home/temp", 1);
            store.SetRetained("home/temp", 2);
            store.SetRetained("home/door", 3);
        });
        await WriteAsync(store => store.ClearRetained("home/door"));

        StoredBrokerState state = await LoadAsync();

        Assert.Equal([new StoredRetained("home/temp", 2)], state.Retained);
    }

    [Fact]
    public async Task After_load_the_broker_continues_with_the_next_ids()
    {
        await WriteAsync(store =>
        {
            for (long id = 1; id <= 5; id++)
            {
                store.InsertMessage(SampleRecords.Message(id));
                store.InsertDelivery(SampleRecords.Delivery("c", id, id));
            }
        });

        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            StoredBrokerState state = store.Load();
            long nextId = state.Messages.Max(m => m.Id) + 1;
            long nextSequence = state.Deliveries.Max(d => d.Sequence) + 1;
            store.InsertMessage(SampleRecords.Message(nextId));
            store.InsertDelivery(SampleRecords.Delivery("c", nextSequence, nextId));
            Assert.True(await store.DurableAsync());
        }

        StoredBrokerState reloaded = await LoadAsync();
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], reloaded.Messages.Select(m => m.Id));
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], reloaded.Deliveries.Select(d => d.Sequence));
    }

    [Fact]
    public async Task An_empty_store_loads_empty()
    {
        StoredBrokerState state = await LoadAsync();

        Assert.Empty(state.Sessions);
        Assert.Empty(state.Subscriptions);
        Assert.Empty(state.Messages);
        Assert.Empty(state.Deliveries);
        Assert.Empty(state.IncomingPacketIdentifiers);
        Assert.Empty(state.Retained);
    }

    private async Task WriteAsync(Action<SqliteBrokerStore> write)
    {
        await using var store = new SqliteBrokerStore(_folder.Path);
        write(store);
        Assert.True(await store.DurableAsync());
    }

    private async Task<StoredBrokerState> LoadAsync()
    {
        await using var store = new SqliteBrokerStore(_folder.Path);
        return store.Load();
    }
}

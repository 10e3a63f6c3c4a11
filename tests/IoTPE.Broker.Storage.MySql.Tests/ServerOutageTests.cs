namespace IoTPE.Broker.Storage.MySql.Tests;

/// <summary>
/// The database server stops (cleanly, or by kill -9) while the store writes: callbacks are told
/// false while it is away, nothing told true is lost, the store resumes by itself when the server is
/// back, writes the broker still counts on are written then, and the state changes are logged once each.
/// Each test has a server of its own, since it stops it.
/// </summary>
public sealed class ServerOutageTests : IAsyncLifetime
{
    private readonly MariaDbFixture _fixture = new();

    public Task InitializeAsync() => _fixture.InitializeAsync();

    public Task DisposeAsync() => _fixture.DisposeAsync();

    [Fact]
    public async Task A_server_stopped_under_load_refuses_while_down_and_takes_writes_again_once_restarted()
    {
        string database = await _fixture.NewDatabaseAsync();
        var log = new CollectingLog();
        await using MySqlBrokerStore store = StoreFactory.Open(database, log);
        store.SaveSession(new StoredSession("sub", 5, uint.MaxValue, null, null));
        store.InsertMessage(SampleRecords.Message(1));
        store.InsertDelivery(SampleRecords.Delivery("sub", 1, 1));
        Assert.True(await store.DurableAsync());

        var durableIds = new System.Collections.Concurrent.ConcurrentQueue<long>();
        var refusedIds = new System.Collections.Concurrent.ConcurrentQueue<long>();
        using var load = new CancellationTokenSource();
        long next = 100;
        Task writer = Task.Run(async () =>
        {
            while (!load.IsCancellationRequested)
            {
                long id = ++next;
                store.InsertMessage(SampleRecords.Message(id));
                store.InsertDelivery(SampleRecords.Delivery("sub", id, id));
                (await store.DurableAsync() ? durableIds : refusedIds).Enqueue(id);
            }
        });
        await StoreTestExtensions.EventuallyAsync(() => Volatile.Read(ref next) > 300, "load before the stop");

        await _fixture.Server.StopAsync();
        await StoreTestExtensions.EventuallyAsync(() => store.IsDatabaseUnavailable, "the store noticing");
        int refusedBefore = refusedIds.Count;
        await StoreTestExtensions.EventuallyAsync(() => refusedIds.Count > refusedBefore + 20, "refusals while down");
        // While down, writes the broker keeps in memory: a completed delivery and a new subscription.
        store.DeleteDelivery("sub", 1);
        store.SaveSubscription(new StoredSubscription("sub", "kept/while/down", 1, 0));
        Assert.False(await store.DurableAsync());

        await _fixture.Server.RestartAsync();
        await StoreTestExtensions.EventuallyAsync(() => !store.IsDatabaseUnavailable, "the store resuming");
        int durableBefore = durableIds.Count;
        await StoreTestExtensions.EventuallyAsync(() => durableIds.Count > durableBefore + 50, "durable writes after the restart");
        await load.CancelAsync();
        await writer;

        Assert.True(log.Lines.Count(line => line.Contains("unreachable", StringComparison.Ordinal)) == 1, string.Join("\n", log.Lines));
        Assert.Single(log.Lines, line => line.Contains("is back after", StringComparison.Ordinal));
        StoredBrokerState state = store.Load();
        var stored = state.Deliveries.Select(d => d.Sequence).ToHashSet();
        Assert.All(durableIds, id => Assert.Contains(id, stored));
        Assert.All(refusedIds, id => Assert.DoesNotContain(id, stored)); // the broker dropped these deliveries
        Assert.DoesNotContain(1L, stored); // completed while down, written after
        Assert.Contains(state.Subscriptions, s => s.TopicFilter == "kept/while/down");
    }

    [Fact]
    public async Task Every_write_told_durable_survives_kill_9_of_the_server_mid_stream()
    {
        string database = await _fixture.NewDatabaseAsync();
        await using MySqlBrokerStore store = StoreFactory.Open(database);
        var durableIds = new System.Collections.Concurrent.ConcurrentBag<long>();
        var acknowledgedDeletes = new System.Collections.Concurrent.ConcurrentBag<long>();
        using var load = new CancellationTokenSource();
        long next = 0;
        Task writer = Task.Run(async () =>
        {
            while (!load.IsCancellationRequested)
            {
                long id = Interlocked.Increment(ref next);
                store.InsertMessage(SampleRecords.Message(id));
                store.InsertDelivery(SampleRecords.Delivery("sub", id, id));
                store.WhenDurable(durable =>
                {
                    if (durable)
                    {
                        durableIds.Add(id);
                    }
                });
                if (id % 3 == 0 && durableIds.TryPeek(out long earlier))
                {
                    // An acknowledgement of an earlier delivery: after a true, the row must be gone.
                    store.DeleteDelivery("sub", earlier);
                    store.WhenDurable(durable =>
                    {
                        if (durable)
                        {
                            acknowledgedDeletes.Add(earlier);
                        }
                    });
                }
                if (id % 64 == 0)
                {
                    await store.DurableAsync();
                }
            }
        });
        await StoreTestExtensions.EventuallyAsync(() => durableIds.Count > 2000, "load before the kill");
        await _fixture.Server.KillAsync();
        await StoreTestExtensions.EventuallyAsync(() => store.IsDatabaseUnavailable, "the store noticing");
        await _fixture.Server.RestartAsync();
        int durableBefore = durableIds.Count;
        await StoreTestExtensions.EventuallyAsync(() => durableIds.Count > durableBefore + 500, "durable writes after the restart");
        await load.CancelAsync();
        await writer;
        await _fixture.Server.KillAsync(); // once more, with everything acknowledged
        await _fixture.Server.RestartAsync();

        StoredBrokerState state = store.Load();
        var stored = state.Deliveries.Select(d => d.Sequence).ToHashSet();
        var deleted = acknowledgedDeletes.ToHashSet();
        Assert.All(durableIds.Where(id => !deleted.Contains(id)), id => Assert.Contains(id, stored));
        Assert.All(deleted, id => Assert.DoesNotContain(id, stored));
    }

    [Fact]
    public async Task A_queue_tail_deleted_while_the_server_is_away_is_deleted_once_it_is_back()
    {
        string database = await _fixture.NewDatabaseAsync();
        await using MySqlBrokerStore store = StoreFactory.Open(database);
        store.Load();
        for (long id = 1; id <= 5; id++)
        {
            store.InsertMessage(SampleRecords.Message(id));
            store.InsertDelivery(SampleRecords.Delivery("s", id, id));
        }
        Assert.True(await store.DurableAsync());

        await _fixture.Server.KillAsync();
        // The session ends with a tail after sequence 2: the broker forgets it whatever the callback says.
        store.DeleteDeliveriesAfter("s", 2);
        Assert.False(await store.DurableAsync());
        Assert.True(store.IsDatabaseUnavailable);
        await _fixture.Server.RestartAsync();
        DateTime deadline = DateTime.UtcNow + StoreTestExtensions.Patience;
        while (!await store.DurableAsync())
        {
            Assert.True(DateTime.UtcNow < deadline, "the store did not resume");
            await Task.Delay(50);
        }

        Assert.Equal("1\n2", (await _fixture.QueryAsync(database, "SELECT sequence FROM deliveries ORDER BY sequence")).Trim());
        Assert.Equal("1\n2", (await _fixture.QueryAsync(database, "SELECT id FROM messages ORDER BY id")).Trim());
    }
}

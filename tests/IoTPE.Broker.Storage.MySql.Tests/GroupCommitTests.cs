namespace IoTPE.Broker.Storage.MySql.Tests;

/// <summary>Many operations, one transaction and few statements; callbacks only after the COMMIT.</summary>
public sealed class GroupCommitTests(MariaDbFixture fixture) : IClassFixture<MariaDbFixture>
{
    [Fact]
    public async Task A_thousand_messages_queued_together_commit_as_one_transaction_of_few_statements()
    {
        string database = await fixture.NewDatabaseAsync();
        await using MySqlBrokerStore store = StoreFactory.Open(database);
        Assert.True(await store.DurableAsync());
        long commitsBefore = store.CommitCount;
        long statementsBefore = store.StatementCount;

        store.PauseWriter();
        var outcomes = new List<Task<bool>>();
        for (int i = 1; i <= 1000; i++)
        {
            store.InsertMessage(SampleRecords.Message(i));
            store.InsertDelivery(SampleRecords.Delivery("client-" + (i % 7), i, i));
            outcomes.Add(store.DurableAsync());
        }
        store.ResumeWriter();

        Assert.All(await Task.WhenAll(outcomes), Assert.True);
        Assert.Equal(commitsBefore + 1, store.CommitCount);
        // 1000 rows per table, 500 rows a statement, and every statement (with the batch marker) in
        // one multi-statement round trip.
        Assert.Equal(1, store.StatementCount - statementsBefore);
        Assert.Equal("1000\t1000", (await fixture.QueryAsync(database, "SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM deliveries)")).Trim());

        store.PauseWriter();
        for (int i = 1; i <= 1000; i++)
        {
            store.DeleteDelivery("client-" + (i % 7), i);
            store.DeleteMessage(i);
        }
        Task<bool> deleted = store.DurableAsync();
        store.ResumeWriter();
        Assert.True(await deleted);
        Assert.Equal("0\t0", (await fixture.QueryAsync(database, "SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM deliveries)")).Trim());
    }

    [Fact]
    public async Task Deleting_much_of_a_table_in_one_batch_reads_each_row_by_its_key_instead_of_scanning_the_table()
    {
        // A broker under load deletes, per batch, about as many rows as its small in-flight tables hold;
        // an IN list that large made the optimizer scan the whole table, delete-marked rows included
        // (43 % of the server's CPU on the central). Each table here holds 1,000 rows and 400 go.
        string database = await fixture.NewDatabaseAsync();
        await using MySqlBrokerStore store = StoreFactory.Open(database);
        store.PauseWriter();
        for (int i = 1; i <= 1000; i++)
        {
            store.InsertMessage(SampleRecords.Message(i));
            store.InsertDelivery(SampleRecords.Delivery("client", i, i));
            store.AddIncomingPacketIdentifier("client", (ushort)i);
        }
        Task<bool> inserted = store.DurableAsync();
        store.ResumeWriter();
        Assert.True(await inserted);
        await fixture.QueryAsync(database, "ANALYZE TABLE messages, deliveries, incoming_packet_identifiers");
        long rowsReadBefore = await RowsReadAsync(database);

        store.PauseWriter();
        for (int i = 1; i <= 1000; i += 5)
        {
            store.DeleteMessage(i);
            store.DeleteMessage(i + 1);
            store.MarkDeliveryReleased("client", i + 2);
            store.DeleteDelivery("client", i);
            store.DeleteDelivery("client", i + 1);
            store.RemoveIncomingPacketIdentifier("client", (ushort)i);
            store.RemoveIncomingPacketIdentifier("client", (ushort)(i + 1));
        }
        Task<bool> deleted = store.DurableAsync();
        store.ResumeWriter();
        Assert.True(await deleted);

        // By key, a changed row costs at most two reads (its key from the statement's derived table,
        // then the row itself): 2 × 1,400 + the batch number's row. Scanning the three tables would
        // read their 3,000 rows besides (4,001 with the IN-list statements of before).
        long rowsRead = await RowsReadAsync(database) - rowsReadBefore;
        Assert.InRange(rowsRead, 1400, 2 * 1400 + 1);
        Assert.Equal("600\t600\t600\t200", (await fixture.QueryAsync(database,
            "SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM deliveries), (SELECT COUNT(*) FROM incoming_packet_identifiers), " +
            "(SELECT COUNT(*) FROM deliveries WHERE released = 1)")).Trim());
    }

    /// <summary>The server's count of rows read (<c>Rows_read</c>), derived tables included.</summary>
    private async Task<long> RowsReadAsync(string database) =>
        long.Parse((await fixture.QueryAsync(database, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'ROWS_READ'")).Trim(),
            System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_callback_told_true_finds_its_writes_committed_for_every_other_connection()
    {
        string database = await fixture.NewDatabaseAsync();
        await using MySqlBrokerStore store = StoreFactory.Open(database);
        for (int i = 1; i <= 20; i++)
        {
            store.InsertMessage(SampleRecords.Message(i));
            var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            int id = i;
            store.WhenDurable(durable =>
            {
                // Right after the COMMIT: another session must see the row now.
                using var connection = new MySqlConnector.MySqlConnection(database);
                connection.Open();
                using var command = new MySqlConnector.MySqlCommand($"SELECT COUNT(*) FROM messages WHERE id = {id}", connection);
                seen.SetResult($"{durable}:{command.ExecuteScalar()}");
            });
            Assert.Equal("True:1", await seen.Task.WaitAsync(StoreTestExtensions.Patience));
        }
    }

    [Fact]
    public async Task Callbacks_run_in_request_order_across_batches()
    {
        string database = await fixture.NewDatabaseAsync();
        await using MySqlBrokerStore store = StoreFactory.Open(database);
        var order = new List<int>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (int i = 1; i <= 2000; i++)
        {
            store.InsertMessage(SampleRecords.Message(i));
            int n = i;
            store.WhenDurable(durable =>
            {
                order.Add(durable ? n : -n);
                if (n == 2000)
                {
                    all.SetResult();
                }
            });
        }
        await all.Task.WaitAsync(StoreTestExtensions.Patience);
        Assert.Equal(Enumerable.Range(1, 2000), order);
        Assert.True(store.CommitCount < 2000, "group commit: fewer commits than callbacks");
    }

    [Fact]
    public async Task The_next_batch_commits_while_the_last_one_s_callbacks_run_and_the_writer_runs_at_most_two_batches_ahead()
    {
        string database = await fixture.NewDatabaseAsync();
        await using MySqlBrokerStore store = StoreFactory.Open(database);
        var slowCallbackEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var releaseSlowCallback = new ManualResetEventSlim();
        store.InsertMessage(SampleRecords.Message(1));
        store.WhenDurable(_ =>
        {
            slowCallbackEntered.SetResult();
            releaseSlowCallback.Wait(StoreTestExtensions.Patience);
        });
        await slowCallbackEntered.Task.WaitAsync(StoreTestExtensions.Patience);
        long committedBefore = store.CommitCount;

        // While the broker is still busy with the first outcome, the writer commits the next batch...
        var outcomes = new List<int>();
        var lastOutcome = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.InsertMessage(SampleRecords.Message(2));
        store.WhenDurable(durable => outcomes.Add(durable ? 2 : -2));
        await StoreTestExtensions.EventuallyAsync(() => store.CommitCount >= committedBefore + 1, "the second batch's commit");
        Assert.Equal("1", (await fixture.QueryAsync(database, "SELECT COUNT(*) FROM messages WHERE id = 2")).Trim());

        // ...and one more, whose outcome it cannot hand over: then it waits instead of running further ahead.
        for (int i = 3; i <= 6; i++)
        {
            store.InsertMessage(SampleRecords.Message(i));
            int n = i;
            store.WhenDurable(durable =>
            {
                outcomes.Add(durable ? n : -n);
                if (n == 6)
                {
                    lastOutcome.SetResult();
                }
            });
            if (i == 3)
            {
                await StoreTestExtensions.EventuallyAsync(() => store.CommitCount >= committedBefore + 2, "the third batch's commit");
            }
        }
        await Task.Delay(300);
        Assert.Equal(committedBefore + 2, store.CommitCount);

        releaseSlowCallback.Set();
        await lastOutcome.Task.WaitAsync(StoreTestExtensions.Patience);
        Assert.Equal(new[] { 2, 3, 4, 5, 6 }, outcomes);
    }
}

using IoTPE.Broker.Storage;
using IoTPE.Sqlite;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>Opening, configuring, versioning and disposing the store.</summary>
public sealed class StoreLifecycleTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Dispose_commits_everything_enqueued_and_runs_every_callback_first()
    {
        const int Messages = 10_000;
        int durable = 0;
        var store = new SqliteBrokerStore(_folder.Path);
        for (int id = 1; id <= Messages; id++)
        {
            store.InsertMessage(SampleRecords.Message(id));
            store.SetRetained("t/" + id, id);
            store.WhenDurable(ok =>
            {
                if (ok)
                {
                    Interlocked.Increment(ref durable);
                }
            });
        }

        await store.DisposeAsync().AsTask().WaitAsync(StoreTestExtensions.Patience);

        Assert.Equal(Messages, Volatile.Read(ref durable));
        // The last connection's close checkpoints and deletes the WAL: the database really was closed.
        Assert.False(File.Exists(store.DatabasePath + "-wal"));
        await using var reopened = new SqliteBrokerStore(_folder.Path);
        Assert.Equal(Messages, reopened.Load().Messages.Count);
    }

    [Fact]
    public async Task After_dispose_writes_and_load_throw_ObjectDisposedException()
    {
        var store = new SqliteBrokerStore(_folder.Path);
        await store.DisposeAsync();

        Assert.Throws<ObjectDisposedException>(() => store.SaveSession(new StoredSession("c", 5, 0, null, null)));
        Assert.Throws<ObjectDisposedException>(() => store.DeleteSession("c"));
        Assert.Throws<ObjectDisposedException>(() => store.SaveSubscription(new StoredSubscription("c", "t", 0, 0)));
        Assert.Throws<ObjectDisposedException>(() => store.DeleteSubscription("c", "t"));
        Assert.Throws<ObjectDisposedException>(() => store.InsertMessage(SampleRecords.Message(1)));
        Assert.Throws<ObjectDisposedException>(() => store.DeleteMessage(1));
        Assert.Throws<ObjectDisposedException>(() => store.InsertDelivery(SampleRecords.Delivery("c", 1, 1)));
        Assert.Throws<ObjectDisposedException>(() => store.MarkDeliveryReleased("c", 1));
        Assert.Throws<ObjectDisposedException>(() => store.DeleteDelivery("c", 1));
        Assert.Throws<ObjectDisposedException>(() => store.AddIncomingPacketIdentifier("c", 1));
        Assert.Throws<ObjectDisposedException>(() => store.RemoveIncomingPacketIdentifier("c", 1));
        Assert.Throws<ObjectDisposedException>(() => store.SetRetained("t", 1));
        Assert.Throws<ObjectDisposedException>(() => store.ClearRetained("t"));
        Assert.Throws<ObjectDisposedException>(() => store.WhenDurable(_ => { }));
        Assert.Throws<ObjectDisposedException>(() => store.Load());
        await store.DisposeAsync(); // a second dispose is harmless
    }

    [Fact]
    public async Task Dispose_from_a_callback_returns_at_once_and_the_store_still_closes()
    {
        var store = new SqliteBrokerStore(_folder.Path);
        var disposeReturned = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        store.InsertMessage(SampleRecords.Message(1));
        store.SetRetained("t", 1);
        store.WhenDurable(_ =>
        {
            Task dispose = store.DisposeAsync().AsTask();
            disposeReturned.SetResult(dispose.IsCompleted);
        });

        Assert.True(await disposeReturned.Task.WaitAsync(StoreTestExtensions.Patience));
        await store.DisposeAsync().AsTask().WaitAsync(StoreTestExtensions.Patience);

        Assert.Throws<ObjectDisposedException>(() => store.DeleteMessage(1));
        await using var reopened = new SqliteBrokerStore(_folder.Path); // the lock is released
        Assert.Single(reopened.Load().Messages);
    }

    [Fact]
    public async Task A_second_store_on_the_same_folder_is_refused_until_the_first_is_disposed()
    {
        var first = new SqliteBrokerStore(_folder.Path);

        IOException refused = Assert.Throws<IOException>(() => new SqliteBrokerStore(_folder.Path));
        Assert.Contains("only one process", refused.Message, StringComparison.Ordinal);

        await first.DisposeAsync();
        await using var second = new SqliteBrokerStore(_folder.Path);
        Assert.Empty(second.Load().Sessions);
    }

    [Fact]
    public async Task A_missing_data_folder_is_created()
    {
        string nested = Path.Combine(_folder.Path, "a", "b", "data");

        await using var store = new SqliteBrokerStore(nested);

        Assert.True(File.Exists(Path.Combine(nested, "broker.db")));
        Assert.Equal(Path.Combine(nested, "broker.db"), store.DatabasePath);
    }

    [Fact]
    public async Task The_database_is_in_wal_mode_with_a_versioned_schema()
    {
        await using var store = new SqliteBrokerStore(_folder.Path);

        Assert.Equal("wal", DatabaseProbe.Text(store.DatabasePath, "PRAGMA journal_mode"));
        Assert.Equal(5, DatabaseProbe.Scalar(store.DatabasePath, "PRAGMA user_version"));
        Assert.Equal(7, DatabaseProbe.Scalar(store.DatabasePath, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"));
    }

    [Theory]
    [InlineData(SqliteSyncMode.Full, 2)]
    [InlineData(SqliteSyncMode.Normal, 1)]
    public async Task The_sync_mode_sets_pragma_synchronous(SqliteSyncMode mode, long expected)
    {
        await using var store = new SqliteBrokerStore(_folder.Path, new SqliteBrokerStoreOptions { SyncMode = mode });

        Assert.Equal(expected, store.QueryOnWriterConnection("PRAGMA synchronous"));
    }

    [Fact]
    public void The_default_sync_mode_is_full()
    {
        Assert.Equal(SqliteSyncMode.Full, new SqliteBrokerStoreOptions().SyncMode);
    }

    [Fact]
    public async Task A_database_from_a_newer_release_is_refused_and_left_untouched()
    {
        string databasePath;
        await using (var store = new SqliteBrokerStore(_folder.Path))
        {
            databasePath = store.DatabasePath;
        }
        DatabaseProbe.Scalar(databasePath, "PRAGMA user_version = 99; SELECT 0");

        SqliteStoreException refused = Assert.Throws<SqliteStoreException>(() => new SqliteBrokerStore(_folder.Path));

        Assert.Contains("newer", refused.Message, StringComparison.Ordinal);
        Assert.Equal(99, DatabaseProbe.Scalar(databasePath, "PRAGMA user_version"));
        Assert.Throws<SqliteStoreException>(() => new SqliteBrokerStore(_folder.Path)); // the lock was released
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_refused()
    {
        File.WriteAllBytes(Path.Combine(_folder.Path, "broker.db"), new byte[8192].Select((_, i) => (byte)(i * 31)).ToArray());

        SqliteStoreException refused = Assert.Throws<SqliteStoreException>(() => new SqliteBrokerStore(_folder.Path));

        Assert.Equal(26 /* SQLITE_NOTADB */, refused.ResultCode & 0xFF);
    }
}

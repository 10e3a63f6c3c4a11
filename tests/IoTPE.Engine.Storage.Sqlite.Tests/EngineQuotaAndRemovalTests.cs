using IoTPE.Engine.Accounts;
using IoTPE.Engine.Scripts;

namespace IoTPE.Engine.Storage.Sqlite.Tests;

/// <summary>engine.db's per-account quotas (kv bytes, script versions and bytes) and the removal of an account's rows.</summary>
public sealed class EngineQuotaAndRemovalTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly SqliteEngineDatabase _database;
    private readonly SqliteAccountStore _accounts;
    private readonly SqliteKeyValueStore _kv;
    private readonly SqliteScriptStore _scripts;

    public EngineQuotaAndRemovalTests()
    {
        _database = new SqliteEngineDatabase(_folder.Path);
        _accounts = new SqliteAccountStore(_database);
        _kv = new SqliteKeyValueStore(_database);
        _scripts = new SqliteScriptStore(_database);
        _accounts.AddAccount(new Account("alice", "hash", DateTimeOffset.UtcNow));
        _accounts.AddAccount(new Account("bob", "hash", DateTimeOffset.UtcNow));
    }

    public void Dispose()
    {
        _database.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public void Kv_bytes_are_counted_per_account_and_a_set_beyond_the_quota_stores_nothing()
    {
        var quota = new KeyValueQuota(MaxKeys: 100, MaxBytes: 1000);
        string value = "\"" + new string('v', 298) + "\""; // 300 bytes, 302 with a two-letter key
        Assert.Equal(KeyValueSetOutcome.Stored, _kv.Set("alice", "k1", value, quota));
        Assert.Equal(KeyValueSetOutcome.Stored, _kv.Set("alice", "k2", value, quota));
        Assert.Equal(KeyValueSetOutcome.Stored, _kv.Set("alice", "k3", value, quota));
        Assert.Equal(KeyValueSetOutcome.TooManyBytes, _kv.Set("alice", "k4", value, quota));
        Assert.Null(_kv.Get("alice", "k4"));
        Assert.Equal((3L, 906L), _kv.Usage("alice"));

        // Another account has its own quota; replacing with a smaller value and removing free bytes.
        Assert.Equal(KeyValueSetOutcome.Stored, _kv.Set("bob", "k1", value, quota));
        Assert.Equal(KeyValueSetOutcome.Stored, _kv.Set("alice", "k1", "1", quota));
        Assert.True(_kv.Remove("alice", "k2"));
        Assert.Equal((2L, 305L), _kv.Usage("alice"));
        Assert.Equal(KeyValueSetOutcome.Stored, _kv.Set("alice", "k4", value, quota));
        Assert.Equal(KeyValueSetOutcome.TooManyKeys, _kv.Set("alice", "k5", "1", quota with { MaxKeys = 3 }));
        Assert.Equal(KeyValueSetOutcome.NoSuchAccount, _kv.Set("carol", "k1", "1", quota));
    }

    [Fact]
    public void Saving_a_script_keeps_the_newest_versions_and_refuses_a_version_beyond_the_accounts_bytes()
    {
        var quota = new ScriptQuota(VersionsKept: 3, MaxBytes: 2500);
        string text = new('x', 500);
        for (int i = 1; i <= 10; i++)
        {
            Assert.Equal(i, _scripts.Save("alice", "big", text, quota, out _)?.Version);
        }
        Assert.Null(_scripts.Get("alice", "big", 7));
        Assert.NotNull(_scripts.Get("alice", "big", 8));

        Assert.NotNull(_scripts.Save("alice", "other", text, quota, out long used));
        Assert.Equal(2000, used);
        Assert.Null(_scripts.Save("alice", "third", text + text, quota, out long needed));
        Assert.Equal(3000, needed);
        Assert.Null(_scripts.GetLatest("alice", "third"));
        Assert.Equal(["big", "other"], _scripts.List("alice").Select(s => s.Name));
    }

    [Fact]
    public void Removing_an_account_deletes_its_rows_and_leaves_a_pending_removal_until_finished()
    {
        var quota = new KeyValueQuota(100, 100_000);
        _kv.Set("alice", "k", "1", quota);
        _kv.Set("bob", "k", "1", quota);
        _scripts.Save("alice", "s", "return 1;", new ScriptQuota(5, 100_000), out _);
        _scripts.SetSchedule("alice", "s", 10);
        _accounts.AddGrant(new Grant("alice", "bob", GrantKind.Subscribe, "data/#"));
        _accounts.AddGrant(new Grant("bob", "alice", GrantKind.Publish, "in"));
        long before = _accounts.ChangeVersion;

        Assert.True(_accounts.RemoveAccount("alice"));
        Assert.NotEqual(before, _accounts.ChangeVersion);
        Assert.Equal(["alice"], _accounts.PendingRemovals());
        Assert.Equal(["an unfinished removal"], _accounts.Remains("alice"));
        Assert.Null(_kv.Get("alice", "k"));
        Assert.Equal((0L, 0L), _kv.Usage("alice"));
        Assert.Empty(_scripts.List("alice"));
        Assert.Empty(_scripts.Schedules());
        Assert.Empty(_accounts.LoadAll().Grants);
        Assert.Equal("1", _kv.Get("bob", "k"));

        _accounts.FinishRemoval("alice");
        Assert.Empty(_accounts.PendingRemovals());
        Assert.Empty(_accounts.Remains("alice"));
        Assert.False(_accounts.RemoveAccount("alice"));
    }
}

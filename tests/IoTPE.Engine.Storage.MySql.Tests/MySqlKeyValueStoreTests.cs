using IoTPE.Engine.Scripts;

namespace IoTPE.Engine.Storage.MySql.Tests;

/// <summary>
/// Scripts' <c>kv</c> on the central (<see cref="MySqlKeyValueStore"/>) against a real MariaDB server:
/// values per account, the usage row kept in step with every write, the quota's keys and bytes, keys
/// longer than an index could hold, concurrent writers, and removal of the account.
/// </summary>
public sealed class MySqlKeyValueStoreTests(MariaDbFixture fixture) : IClassFixture<MariaDbFixture>
{
    private static readonly KeyValueQuota Roomy = new(100, 1_000_000);

    private (MySqlKeyValueStore Store, MySqlAccountStore Accounts) Open(params string[] accounts)
    {
        MySqlServiceDatabase service = fixture.OpenService();
        var store = new MySqlAccountStore(service);
        foreach (string account in accounts)
        {
            Assert.True(store.CreateAccount(account, account + "-secret"));
        }
        return (new MySqlKeyValueStore(service, store), store);
    }

    [Fact]
    public void Values_belong_to_their_account_and_usage_counts_utf8_keys_and_values()
    {
        (MySqlKeyValueStore kv, _) = Open("kva", "kvb");
        Assert.Null(kv.Get("kva", "total"));
        Assert.Equal(KeyValueSetOutcome.Stored, kv.Set("kva", "total", "3", Roomy));
        Assert.Equal(KeyValueSetOutcome.Stored, kv.Set("kva", "ø", "\"å\"", Roomy)); // 2 bytes + 4 bytes
        Assert.Equal("3", kv.Get("kva", "total"));
        Assert.Equal("\"å\"", kv.Get("kva", "ø"));
        Assert.Null(kv.Get("kvb", "total"));
        Assert.Equal((2L, 5L + 1 + 2 + 4), kv.Usage("kva"));
        Assert.Equal((0L, 0L), kv.Usage("kvb"));

        // Replacing keeps one key and counts the new value's bytes only.
        Assert.Equal(KeyValueSetOutcome.Stored, kv.Set("kva", "total", "1000", Roomy));
        Assert.Equal("1000", kv.Get("kva", "total"));
        Assert.Equal((2L, 5L + 4 + 2 + 4), kv.Usage("kva"));

        Assert.True(kv.Remove("kva", "total"));
        Assert.False(kv.Remove("kva", "total"));
        Assert.False(kv.Remove("kvb", "ø")); // another account's key of the same name is not kvb's
        Assert.Null(kv.Get("kva", "total"));
        Assert.Equal((1L, 2L + 4), kv.Usage("kva"));
    }

    [Fact]
    public void The_quota_refuses_a_new_key_or_more_bytes_but_lets_values_shrink()
    {
        (MySqlKeyValueStore kv, _) = Open("kvq");
        var quota = new KeyValueQuota(2, 20);
        Assert.Equal(KeyValueSetOutcome.Stored, kv.Set("kvq", "a", "\"123456789\"", quota)); // 1 + 11
        Assert.Equal(KeyValueSetOutcome.Stored, kv.Set("kvq", "b", "1", quota));             // 1 + 1: 14 bytes
        Assert.Equal(KeyValueSetOutcome.TooManyKeys, kv.Set("kvq", "c", "1", quota));
        Assert.Equal(KeyValueSetOutcome.TooManyBytes, kv.Set("kvq", "b", "\"12345678\"", quota)); // would be 22
        Assert.Equal("1", kv.Get("kvq", "b"));
        Assert.Equal((2L, 14L), kv.Usage("kvq"));

        // Over a lowered quota, a smaller value still goes in: it frees room.
        var lowered = new KeyValueQuota(2, 5);
        Assert.Equal(KeyValueSetOutcome.Stored, kv.Set("kvq", "a", "0", lowered));
        Assert.Equal((2L, 4L), kv.Usage("kvq"));
        Assert.Null(kv.Get("kvq", "c"));
    }

    [Fact]
    public void Keys_longer_than_an_index_can_hold_are_told_apart()
    {
        (MySqlKeyValueStore kv, _) = Open("kvl");
        string prefix = new('k', 5_000);
        Assert.Equal(KeyValueSetOutcome.Stored, kv.Set("kvl", prefix + "1", "1", Roomy));
        Assert.Equal(KeyValueSetOutcome.Stored, kv.Set("kvl", prefix + "2", "2", Roomy));
        Assert.Equal("1", kv.Get("kvl", prefix + "1"));
        Assert.Equal("2", kv.Get("kvl", prefix + "2"));
        Assert.Equal(2, kv.Usage("kvl").Keys);
    }

    [Fact]
    public void Concurrent_writers_keep_the_usage_exact_and_the_key_quota_unbroken()
    {
        (MySqlKeyValueStore kv, _) = Open("kvc");
        var quota = new KeyValueQuota(50, 1_000_000);
        // 8 writers, 100 distinct keys, each written twice: the usage row is locked per transaction.
        KeyValueSetOutcome[] outcomes = new KeyValueSetOutcome[200];
        Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => outcomes[i] = kv.Set("kvc", "key" + (i % 100), "\"v\"", quota));
        (long keys, long bytes) = kv.Usage("kvc");
        Assert.Equal(50, keys);
        int stored = Enumerable.Range(0, 100).Count(k => kv.Get("kvc", "key" + k) is not null);
        Assert.Equal(50, stored);
        long expected = Enumerable.Range(0, 100).Where(k => kv.Get("kvc", "key" + k) is not null).Sum(k => ("key" + k).Length + 3L);
        Assert.Equal(expected, bytes);
        Assert.Contains(KeyValueSetOutcome.TooManyKeys, outcomes);
    }

    [Fact]
    public void A_removed_account_keeps_no_entries_and_cannot_write_new_ones()
    {
        (MySqlKeyValueStore kv, MySqlAccountStore accounts) = Open("kvr");
        Assert.Equal(KeyValueSetOutcome.Stored, kv.Set("kvr", "x", "1", Roomy));
        Assert.True(accounts.RemoveAccount("kvr"));
        Assert.Null(kv.Get("kvr", "x"));
        Assert.Equal((0L, 0L), kv.Usage("kvr"));
        Assert.Equal(KeyValueSetOutcome.NoSuchAccount, kv.Set("kvr", "y", "1", Roomy));
        Assert.Equal(KeyValueSetOutcome.NoSuchAccount, kv.Set("never-made", "y", "1", Roomy));
    }
}

using IoTPE.Engine.Accounts;
using IoTPE.Engine.Storage.Sqlite;
using IoTPE.Threading;

namespace IoTPE.Engine.Tests;

/// <summary>The directory watches a real SQLite account store; a store that fails for a while must not take the engine down.</summary>
public sealed class AccountDirectoryTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("iotpe-directory-").FullName;
    private readonly SqliteEngineDatabase _database;
    private readonly SqliteAccountStore _store;

    public AccountDirectoryTests()
    {
        _database = new SqliteEngineDatabase(_folder);
        _store = new SqliteAccountStore(_database);
        _store.AddAccount(new Account("first", PasswordHasher.Hash("x", 10), DateTimeOffset.UtcNow));
    }

    public void Dispose()
    {
        _database.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_store_that_cannot_be_read_keeps_the_last_snapshot_and_is_read_again_once_it_recovers()
    {
        var flaky = new UnreadableAccountStore(_store);
        var directory = new AccountDirectory(flaky);
        var failures = new List<Exception>();
        directory.PollFailed += e => { lock (failures) { failures.Add(e); } };
        using var ticker = new Ticker("test-tick", TimeSpan.FromMilliseconds(20), e => { lock (failures) { failures.Add(e); } });
        using var watch = new StoreWatch(ticker, directory.Poll);

        flaky.Unreadable = true;
        _store.AddAccount(new Account("second", PasswordHasher.Hash("x", 10), DateTimeOffset.UtcNow));
        await WaitUntilAsync(() => { lock (failures) { return failures.Count >= 2; } });
        Assert.True(directory.Current.Exists("first"));
        Assert.False(directory.Current.Exists("second"));
        lock (failures)
        {
            Assert.All(failures, e => Assert.IsType<IOException>(e));
        }

        flaky.Unreadable = false;
        await WaitUntilAsync(() => directory.Current.Exists("second"));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(5);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }

    /// <summary>Fault injection: a real store whose reads fail (as a locked or damaged database does) while <see cref="Unreadable"/> is set.</summary>
    private sealed class UnreadableAccountStore(IAccountStore inner) : IAccountStore
    {
        public volatile bool Unreadable;

        public long ChangeVersion => inner.ChangeVersion;

        public (IReadOnlyList<Account> Accounts, IReadOnlyList<Grant> Grants) LoadAll() =>
            Unreadable ? throw new IOException("disk I/O error") : inner.LoadAll();

        public bool AddAccount(Account account) => inner.AddAccount(account);

        public bool SetPasswordHash(string name, string passwordHash) => inner.SetPasswordHash(name, passwordHash);

        public bool RemoveAccount(string name) => inner.RemoveAccount(name);

        public IReadOnlyList<string> PendingRemovals() => inner.PendingRemovals();

        public void FinishRemoval(string name) => inner.FinishRemoval(name);

        public IReadOnlyList<string> Remains(string name) => inner.Remains(name);

        public void AddGrant(Grant grant) => inner.AddGrant(grant);

        public bool RemoveGrant(Grant grant) => inner.RemoveGrant(grant);
    }
}

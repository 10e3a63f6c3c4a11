using System.Text.Json;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Scripts;

namespace IoTPE.Engine.Tests.InMemory;

/// <summary>The engine's storage ports in memory: accounts and scripts as a test sets them up; no files.</summary>
internal sealed class InMemoryEngineStores
{
    public InMemoryAccountStore Accounts { get; } = new();

    public InMemoryScriptStore Scripts { get; } = new();

    public EngineStores ToEngineStores() => new(Accounts, Scripts, new NoKeyValues(), new NoDatabases());

    internal sealed class InMemoryAccountStore : IAccountStore
    {
        private readonly Lock _sync = new();
        private readonly List<Account> _accounts = [];
        private long _version;

        public long ChangeVersion => Interlocked.Read(ref _version);

        public (IReadOnlyList<Account> Accounts, IReadOnlyList<Grant> Grants) LoadAll()
        {
            lock (_sync)
            {
                return ([.. _accounts], []);
            }
        }

        public bool AddAccount(Account account)
        {
            lock (_sync)
            {
                _accounts.Add(account);
                Interlocked.Increment(ref _version);
                return true;
            }
        }

        public bool SetPasswordHash(string name, string passwordHash) => throw new NotSupportedException();

        public bool RemoveAccount(string name) => throw new NotSupportedException();

        public IReadOnlyList<string> PendingRemovals() => [];

        public void FinishRemoval(string name)
        {
        }

        public IReadOnlyList<string> Remains(string name) => [];

        public void AddGrant(Grant grant) => throw new NotSupportedException();

        public bool RemoveGrant(Grant grant) => throw new NotSupportedException();
    }

    internal sealed class InMemoryScriptStore : IScriptStore
    {
        private readonly Lock _sync = new();
        private readonly Dictionary<(string, string), StoredScript> _latest = [];
        private int _failures;
        private long _version;

        public long ChangeVersion => Interlocked.Read(ref _version);

        /// <summary>The next <paramref name="count"/> reads fail, as a locked engine database would.</summary>
        public void FailNextReads(int count) => Volatile.Write(ref _failures, count);

        public StoredScript? Save(string account, string name, string text, ScriptQuota quota, out long bytesNeeded)
        {
            bytesNeeded = 0;
            lock (_sync)
            {
                int version = _latest.TryGetValue((account, name), out StoredScript? previous) ? previous.Version + 1 : 1;
                var script = new StoredScript(account, name, version, text, DateTimeOffset.UnixEpoch);
                _latest[(account, name)] = script;
                Interlocked.Increment(ref _version);
                return script;
            }
        }

        public StoredScript? GetLatest(string account, string name)
        {
            if (Interlocked.Decrement(ref _failures) >= 0)
            {
                throw new IOException("database is locked (injected)");
            }
            lock (_sync)
            {
                return _latest.GetValueOrDefault((account, name));
            }
        }

        public StoredScript? Get(string account, string name, int version) => throw new NotSupportedException();

        public IReadOnlyList<StoredScript> List(string account) => throw new NotSupportedException();

        public bool Remove(string account, string name) => throw new NotSupportedException();

        public void SetSchedule(string account, string name, int? everySeconds) => throw new NotSupportedException();

        public IReadOnlyList<ScriptSchedule> Schedules() => [];
    }

    private sealed class NoKeyValues : IKeyValueStore
    {
        public string? Get(string account, string key) => throw new NotSupportedException();

        public KeyValueSetOutcome Set(string account, string key, string json, KeyValueQuota quota) => throw new NotSupportedException();

        public bool Remove(string account, string key) => throw new NotSupportedException();

        public (long Keys, long Bytes) Usage(string account) => throw new NotSupportedException();
    }

    private sealed class NoDatabases : IAccountDatabases
    {
        public void Query(string account, string sql, JsonElement parameters, Utf8JsonWriter result, TimeSpan timeout) => throw new NotSupportedException();

        public void Execute(string account, string sql, JsonElement parameters, Utf8JsonWriter result, TimeSpan timeout) => throw new NotSupportedException();

        public void Close(string account)
        {
        }

        public bool Delete(string account) => false;
    }
}

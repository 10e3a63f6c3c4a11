
namespace IoTPE.Engine.Accounts;

/// <summary>
/// The accounts and grants the engine works with, in memory, as one immutable snapshot that is
/// replaced whole when anything changes — by the engine itself, or by <c>iotpe account</c> in
/// another process (noticed within a second through <see cref="IAccountStore.ChangeVersion"/>).
/// Reads never lock.
/// </summary>
public sealed class AccountDirectory : IDisposable
{
    private readonly IAccountStore _store;
    private readonly Lock _reloadLock = new();
    private readonly Timer? _poll;
    private AccountSnapshot _snapshot;
    private long _loadedVersion;

    /// <summary>Loads the directory; with <paramref name="pollInterval"/> it also watches the store for outside changes.</summary>
    public AccountDirectory(IAccountStore store, TimeSpan? pollInterval = null)
    {
        _store = store;
        _loadedVersion = store.ChangeVersion;
        _snapshot = Load();
        if (pollInterval is { } interval)
        {
            _poll = new Timer(_ => ReloadIfChanged(), null, interval, interval);
        }
    }

    /// <summary>Called after the snapshot was replaced.</summary>
    public event Action? Changed;

    /// <summary>The current accounts and grants.</summary>
    public AccountSnapshot Current => Volatile.Read(ref _snapshot);

    /// <summary>The store behind the directory.</summary>
    public IAccountStore Store => _store;

    /// <summary>Reloads now if the store changed since the last load.</summary>
    public void ReloadIfChanged()
    {
        lock (_reloadLock)
        {
            long version = _store.ChangeVersion;
            if (version == _loadedVersion)
            {
                return;
            }
            _loadedVersion = version;
            Volatile.Write(ref _snapshot, Load());
        }
        Changed?.Invoke();
    }

    private AccountSnapshot Load()
    {
        (IReadOnlyList<Account> accounts, IReadOnlyList<Grant> grants) = _store.LoadAll();
        return new AccountSnapshot(accounts, grants);
    }

    /// <summary>Stops watching the store.</summary>
    public void Dispose() => _poll?.Dispose();
}

/// <summary>One consistent view of accounts and grants.</summary>
public sealed class AccountSnapshot
{
    private static readonly IReadOnlyList<Grant> NoGrants = [];
    private readonly Dictionary<string, Account> _accounts;
    private readonly Dictionary<string, List<Grant>> _grantsByGrantee;
    private readonly Dictionary<string, List<Grant>> _grantsByOwner;

    internal AccountSnapshot(IReadOnlyList<Account> accounts, IReadOnlyList<Grant> grants)
    {
        _accounts = accounts.ToDictionary(a => a.Name, StringComparer.Ordinal);
        _grantsByGrantee = grants.GroupBy(g => g.Grantee, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        _grantsByOwner = grants.GroupBy(g => g.Owner, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
    }

    /// <summary>Number of accounts.</summary>
    public int Count => _accounts.Count;

    /// <summary>Every account, by name.</summary>
    public IEnumerable<Account> Accounts => _accounts.Values;

    /// <summary>The account called <paramref name="name"/>, or null.</summary>
    public Account? Find(string name) => _accounts.GetValueOrDefault(name);

    /// <summary>Whether an account called <paramref name="name"/> exists.</summary>
    public bool Exists(string name) => _accounts.ContainsKey(name);

    /// <summary>The grants <paramref name="grantee"/> received.</summary>
    public IReadOnlyList<Grant> GrantsTo(string grantee) => _grantsByGrantee.TryGetValue(grantee, out List<Grant>? g) ? g : NoGrants;

    /// <summary>The grants <paramref name="owner"/> gave.</summary>
    public IReadOnlyList<Grant> GrantsBy(string owner) => _grantsByOwner.TryGetValue(owner, out List<Grant>? g) ? g : NoGrants;
}

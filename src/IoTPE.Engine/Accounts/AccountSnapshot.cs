namespace IoTPE.Engine.Accounts;

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

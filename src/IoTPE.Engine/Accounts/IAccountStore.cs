namespace IoTPE.Engine.Accounts;

/// <summary>
/// Where accounts and grants live: SQLite on the edge, MySQL on the central engine. Writes are
/// durable when the method returns. Implementations are safe to call from several threads.
/// </summary>
public interface IAccountStore
{
    /// <summary>
    /// A number that changes whenever accounts or grants change, also when another process
    /// (the <c>iotpe account</c> command) changed them: the engine reloads when it moves.
    /// </summary>
    long ChangeVersion { get; }

    /// <summary>Every account and every grant.</summary>
    (IReadOnlyList<Account> Accounts, IReadOnlyList<Grant> Grants) LoadAll();

    /// <summary>Adds an account. Returns false if the name is taken.</summary>
    bool AddAccount(Account account);

    /// <summary>Replaces an account's password hash. Returns false if there is no such account.</summary>
    bool SetPasswordHash(string name, string passwordHash);

    /// <summary>Removes an account and every grant it gave or received. Returns false if there is no such account.</summary>
    bool RemoveAccount(string name);

    /// <summary>Adds a grant (no effect if it exists).</summary>
    void AddGrant(Grant grant);

    /// <summary>Removes a grant. Returns false if it did not exist.</summary>
    bool RemoveGrant(Grant grant);
}

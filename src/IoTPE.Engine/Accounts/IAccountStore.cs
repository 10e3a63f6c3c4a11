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

    /// <summary>
    /// Removes an account with every grant it gave or received, its kv entries and its scripts (every
    /// version and schedule), and records the removal as pending until <see cref="FinishRemoval"/>:
    /// what lives elsewhere (the broker's sessions and retained messages, the account's database)
    /// is removed by whoever finishes it. Returns false if there is no such account.
    /// </summary>
    bool RemoveAccount(string name);

    /// <summary>The accounts removed whose removal is not finished yet.</summary>
    IReadOnlyList<string> PendingRemovals();

    /// <summary>Deletes whatever the store still holds for a removed account (kv entries or scripts a run wrote meanwhile) and ends its pending removal.</summary>
    void FinishRemoval(string name);

    /// <summary>What the store still holds under the name <paramref name="name"/> of an account that does not exist, described for a person (empty when nothing).</summary>
    IReadOnlyList<string> Remains(string name);

    /// <summary>Adds a grant (no effect if it exists).</summary>
    void AddGrant(Grant grant);

    /// <summary>Removes a grant. Returns false if it did not exist.</summary>
    bool RemoveGrant(Grant grant);
}

using IoTPE.Engine.Accounts;

namespace IoTPE.Engine.Security;

/// <summary>
/// Checks one account's password: against its stored hash on the edge (<see cref="HashedPasswordCheck"/>),
/// by a login to the database server on the central engine. <see cref="AccountAuthenticator"/> keeps
/// the <see cref="LoginLimiter"/> and its memory of verified passwords in front of every implementation,
/// so a check runs only when the limiter lets it and the password was not verified before.
/// </summary>
public interface IPasswordCheck
{
    /// <summary>
    /// Whether accounts may appear outside the account store's own change counter (database users
    /// created by an administrator): a login to an unknown name then reloads the accounts first
    /// (at most every few seconds) before it is refused.
    /// </summary>
    bool AccountsAppearOutsideTheStore { get; }

    /// <summary>Checks <paramref name="password"/> for <paramref name="account"/>. Must not keep the password after it returns.</summary>
    ValueTask<PasswordCheckOutcome> CheckAsync(Account account, ReadOnlyMemory<byte> password, CancellationToken cancellationToken);
}

/// <summary>What a password check found.</summary>
public enum PasswordCheckOutcome
{
    /// <summary>The password is the account's.</summary>
    Right,

    /// <summary>The password is not the account's (or the account no longer exists where it is checked).</summary>
    Wrong,

    /// <summary>Nothing could be checked (the database server is unreachable): neither right nor wrong, the client is told to come back (0x88 Server unavailable).</summary>
    Unavailable,
}

using System.Net;
using System.Security.Cryptography;
using System.Text;
using IoTPE.Broker.Security;
using IoTPE.Engine.Accounts;
using IoTPE.Mqtt;

namespace IoTPE.Engine.Security;

/// <summary>
/// Checks CONNECT credentials against the accounts: the user name is the account name, the
/// password is checked by an <see cref="IPasswordCheck"/> (the account's PBKDF2 hash on the edge, a
/// login to the database server on the central engine). Wrong credentials get Bad User Name or
/// Password (0x86; 3.1.1: return code 4); a check the <see cref="LoginLimiter"/> holds back gets Server
/// Busy (0x89; 3.1.1: 3, Server unavailable), which clients retry, since no password was looked at; a
/// check that could not be made (database server unreachable) gets Server unavailable (0x88; 3.1.1: 3)
/// and counts as no failure, and so does, where accounts appear outside the store (database users), a
/// name that is not known while the accounts cannot be read; clients without credentials are refused
/// unless anonymous access is on.
/// </summary>
/// <remarks>
/// A check is counted by the limiter before it waits for the password check, so a burst of logins
/// cannot queue more guesses than the limiter allows. A login to an account that does not exist is not hashed
/// at all: it waits as long as a recent real check took, which costs no CPU and tells an observer
/// nothing about which accounts exist. A successful check is remembered as an HMAC of the password
/// under a key that lives only in this process, until the account's hash changes: a client that
/// logged in before gets in at once, whatever is going on from its address.
/// </remarks>
public sealed class AccountAuthenticator : IAuthenticator, IDisposable
{
    private const int MaxCachedCredentials = 10_000;

    // How long a login waits for the checks running for its account or address before it is
    // refused with Server busy; below the 5 s in which clients commonly expect a CONNACK.
    private static readonly TimeSpan MaxWaitForRunningCheck = TimeSpan.FromSeconds(3);

    private readonly AccountDirectory _directory;
    private readonly bool _allowAnonymous;
    private readonly LoginLimiter _limiter;
    private readonly TimeProvider _time;
    private readonly IPasswordCheck _check;
    private readonly bool _ownsCheck;
    // How long the last real check took, in ticks: what a login to an unknown account waits.
    private long _typicalCheckTicks = TimeSpan.FromMilliseconds(100).Ticks;
    // Created on the first login, so a broker without accounts never loads the crypto library.
    private readonly Lazy<byte[]> _cacheKey = new(() => RandomNumberGenerator.GetBytes(32));
    private readonly Lock _cacheLock = new();
    private readonly Dictionary<string, (string PasswordHash, byte[] Mac)> _verified = new(StringComparer.Ordinal);

    // How often a login to an unknown name may reload the accounts (when they can appear outside the store).
    private static readonly TimeSpan UnknownNameReloadInterval = TimeSpan.FromSeconds(2);

    // Whether the directory's last reload failed to read the store (the database server unreachable):
    // set by its PollFailed, cleared by its Changed, which every successful forced reload raises.
    private volatile bool _storeUnreadable;

    /// <summary>Creates the authenticator.</summary>
    /// <param name="directory">The accounts.</param>
    /// <param name="allowAnonymous">Whether clients without credentials may connect.</param>
    /// <param name="limiter">The failed-login limiter in front of every check.</param>
    /// <param name="time">The clock.</param>
    /// <param name="passwordCheck">How a password is checked; null: against the account's hash (<see cref="HashedPasswordCheck"/>).</param>
    public AccountAuthenticator(AccountDirectory directory, bool allowAnonymous, LoginLimiter limiter, TimeProvider? time = null, IPasswordCheck? passwordCheck = null)
    {
        _directory = directory;
        _allowAnonymous = allowAnonymous;
        _limiter = limiter;
        _time = time ?? TimeProvider.System;
        _ownsCheck = passwordCheck is null;
        _check = passwordCheck ?? new HashedPasswordCheck();
        _directory.PollFailed += OnReloadFailed;
        _directory.Changed += OnReloaded;
    }

    private void OnReloadFailed(Exception error) => _storeUnreadable = true;

    private void OnReloaded() => _storeUnreadable = false;

    /// <inheritdoc/>
    public async ValueTask<AuthenticationResult> AuthenticateAsync(AuthenticationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.UserName is not { } userName)
        {
            return _allowAnonymous
                ? AuthenticationResult.Accept(null)
                : AuthenticationResult.Refuse(ReasonCode.NotAuthorized, "anonymous clients are not allowed (start with --allow-anonymous)");
        }
        IPAddress? address = (request.RemoteEndPoint as IPEndPoint)?.Address;
        ReadOnlyMemory<byte> password = request.Password ?? ReadOnlyMemory<byte>.Empty;
        Account? account = _directory.Current.Find(userName);
        if (account is null && _check.AccountsAppearOutsideTheStore)
        {
            // A database user an administrator created a moment ago is an account too.
            await _directory.RefreshAsync(UnknownNameReloadInterval, cancellationToken).ConfigureAwait(false);
            account = _directory.Current.Find(userName);
            if (account is null && _storeUnreadable)
            {
                // The user may exist on a server that cannot be asked now: not "wrong", come back later.
                return AuthenticationResult.Refuse(ReasonCode.ServerUnavailable,
                    $"no account '{Printable(userName)}' is known and the accounts cannot be read now (database server unreachable); try again");
            }
        }
        byte[]? mac = null;
        if (account is not null)
        {
            mac = HMACSHA256.HashData(_cacheKey.Value, password.Span);
            if (IsVerified(account, mac))
            {
                return AuthenticationResult.Accept(userName);
            }
        }

        // Clients of one account connecting together (a publisher and a subscriber, devices after a
        // power cut) wait for the check that is running for their account, and then usually get in
        // through its result; only failures refuse a login without a check.
        long waitingSince = _time.GetTimestamp();
        LoginAttempt? attempt;
        while (true)
        {
            Task checkFinished = _limiter.NextCheckFinished;
            attempt = _limiter.TryBegin(account?.Name, address, out TimeSpan retryAfter, out bool heldByRunningCheck);
            if (attempt is not null)
            {
                break;
            }
            TimeSpan left = MaxWaitForRunningCheck - _time.GetElapsedTime(waitingSince);
            if (!heldByRunningCheck || left <= TimeSpan.Zero)
            {
                return AuthenticationResult.Refuse(ReasonCode.ServerBusy, heldByRunningCheck
                    ? $"other logins to '{Printable(userName)}' from {address} are being checked; not checked, try again"
                    : $"too many failed logins for '{Printable(userName)}' from {address}; not checked, try again in {Math.Ceiling(retryAfter.TotalSeconds):0} s");
            }
            try
            {
                await checkFinished.WaitAsync(left, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Asked once more: refused then, unless the running check has just finished.
            }
            if (account is not null && IsVerified(account, mac!))
            {
                return AuthenticationResult.Accept(userName);
            }
        }
        using LoginAttempt started = attempt;
        if (account is null)
        {
            await Task.Delay(TimeSpan.FromTicks(Interlocked.Read(ref _typicalCheckTicks)), _time, cancellationToken).ConfigureAwait(false);
            started.Failed();
            return AuthenticationResult.Refuse(ReasonCode.BadUserNameOrPassword, $"no account '{Printable(userName)}'");
        }

        PasswordCheckOutcome outcome = await CheckAsync(account, password, cancellationToken).ConfigureAwait(false);
        if (outcome == PasswordCheckOutcome.Unavailable)
        {
            started.Unanswered();
            return AuthenticationResult.Refuse(ReasonCode.ServerUnavailable, $"the password of account '{userName}' cannot be checked now (database server unreachable); try again");
        }
        if (outcome != PasswordCheckOutcome.Right)
        {
            started.Failed();
            return AuthenticationResult.Refuse(ReasonCode.BadUserNameOrPassword, $"wrong password for account '{userName}'");
        }
        started.Succeeded();
        lock (_cacheLock)
        {
            if (_verified.Count >= MaxCachedCredentials)
            {
                _verified.Clear();
            }
            _verified[account.Name] = (account.PasswordHash, mac!);
        }
        return AuthenticationResult.Accept(userName);
    }

    // Whether this password was verified for the account's current hash before.
    private bool IsVerified(Account account, byte[] mac)
    {
        lock (_cacheLock)
        {
            return _verified.TryGetValue(account.Name, out var known) && known.PasswordHash == account.PasswordHash &&
                   CryptographicOperations.FixedTimeEquals(known.Mac, mac);
        }
    }

    private async Task<PasswordCheckOutcome> CheckAsync(Account account, ReadOnlyMemory<byte> password, CancellationToken cancellationToken)
    {
        long started = _time.GetTimestamp();
        PasswordCheckOutcome outcome = await _check.CheckAsync(account, password, cancellationToken).ConfigureAwait(false);
        if (outcome != PasswordCheckOutcome.Unavailable)
        {
            Interlocked.Exchange(ref _typicalCheckTicks, _time.GetElapsedTime(started).Ticks);
        }
        return outcome;
    }

    private static string Printable(string text) =>
        text.Length > 64 || text.Any(char.IsControl) ? Convert.ToHexString(Encoding.UTF8.GetBytes(text.Length > 64 ? text[..64] : text)) : text;

    /// <inheritdoc/>
    public void Dispose()
    {
        _directory.PollFailed -= OnReloadFailed;
        _directory.Changed -= OnReloaded;
        if (_ownsCheck)
        {
            (_check as IDisposable)?.Dispose();
        }
    }
}

using System.Net;
using System.Security.Cryptography;
using System.Text;
using IoTPE.Broker.Security;
using IoTPE.Engine.Accounts;
using IoTPE.Mqtt;

namespace IoTPE.Engine.Security;

/// <summary>
/// Checks CONNECT credentials against the accounts: the user name is the account name, the
/// password is verified against its PBKDF2 hash. Wrong credentials get Bad User Name or Password
/// (0x86; 3.1.1: return code 4), failures are counted per address (<see cref="FailedLoginLimiter"/>),
/// and clients without credentials are refused unless anonymous access is on.
/// </summary>
/// <remarks>
/// PBKDF2 is deliberately slow (tens to hundreds of milliseconds on a gateway), so it runs on the
/// thread pool, at most one per core at a time, and a successful check is remembered as an HMAC of
/// the password under a key that lives only in this process, until the account's hash changes.
/// </remarks>
public sealed class AccountAuthenticator : IAuthenticator, IDisposable
{
    private const int MaxCachedCredentials = 10_000;

    private readonly AccountDirectory _directory;
    private readonly bool _allowAnonymous;
    private readonly FailedLoginLimiter _limiter;
    private readonly SemaphoreSlim _hashing = new(Environment.ProcessorCount);
    // Created on the first login, so a broker without accounts never loads the crypto library.
    private readonly Lazy<byte[]> _cacheKey = new(() => RandomNumberGenerator.GetBytes(32));
    private readonly Lock _cacheLock = new();
    private readonly Dictionary<string, (string PasswordHash, byte[] Mac)> _verified = new(StringComparer.Ordinal);

    /// <summary>Creates the authenticator.</summary>
    public AccountAuthenticator(AccountDirectory directory, bool allowAnonymous, FailedLoginLimiter limiter)
    {
        _directory = directory;
        _allowAnonymous = allowAnonymous;
        _limiter = limiter;
    }

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
        if (_limiter.IsBlocked(address))
        {
            return AuthenticationResult.Refuse(ReasonCode.BadUserNameOrPassword, $"too many failed logins from {address}; refused without checking");
        }
        ReadOnlyMemory<byte> password = request.Password ?? ReadOnlyMemory<byte>.Empty;
        Account? account = _directory.Current.Find(userName);
        if (account is null)
        {
            // Take as long as a wrong password would, so that timing does not tell which accounts exist.
            await VerifyAsync(password, UnknownAccountHash.Value, cancellationToken).ConfigureAwait(false);
            _limiter.RecordFailure(address);
            return AuthenticationResult.Refuse(ReasonCode.BadUserNameOrPassword, $"no account '{Printable(userName)}'");
        }
        byte[] mac = HMACSHA256.HashData(_cacheKey.Value, password.Span);
        lock (_cacheLock)
        {
            if (_verified.TryGetValue(userName, out var known) && known.PasswordHash == account.PasswordHash &&
                CryptographicOperations.FixedTimeEquals(known.Mac, mac))
            {
                return AuthenticationResult.Accept(userName);
            }
        }

        if (!await VerifyAsync(password, account.PasswordHash, cancellationToken).ConfigureAwait(false))
        {
            _limiter.RecordFailure(address);
            return AuthenticationResult.Refuse(ReasonCode.BadUserNameOrPassword, $"wrong password for account '{userName}'");
        }
        lock (_cacheLock)
        {
            if (_verified.Count >= MaxCachedCredentials)
            {
                _verified.Clear();
            }
            _verified[userName] = (account.PasswordHash, mac);
        }
        return AuthenticationResult.Accept(userName);
    }

    private async Task<bool> VerifyAsync(ReadOnlyMemory<byte> password, string hash, CancellationToken cancellationToken)
    {
        await _hashing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            byte[] bytes = password.ToArray();
            return await Task.Run(() => PasswordHasher.Verify(bytes, hash), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _hashing.Release();
        }
    }

    private static readonly Lazy<string> UnknownAccountHash = new(() => PasswordHasher.Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))));

    private static string Printable(string text) =>
        text.Length > 64 || text.Any(char.IsControl) ? Convert.ToHexString(Encoding.UTF8.GetBytes(text.Length > 64 ? text[..64] : text)) : text;

    /// <inheritdoc/>
    public void Dispose() => _hashing.Dispose();
}

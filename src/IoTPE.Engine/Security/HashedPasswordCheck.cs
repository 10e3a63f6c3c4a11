using IoTPE.Engine.Accounts;

namespace IoTPE.Engine.Security;

/// <summary>
/// The edge's password check: the account's PBKDF2 hash (<see cref="PasswordHasher"/>). PBKDF2 is
/// deliberately slow (tens to hundreds of milliseconds on a gateway), so it runs on the thread pool,
/// at most one per core at a time, in arrival order.
/// </summary>
public sealed class HashedPasswordCheck : IPasswordCheck, IDisposable
{
    // SemaphoreSlim hands its slots to asynchronous waiters in arrival order.
    private readonly SemaphoreSlim _hashing = new(Environment.ProcessorCount);

    /// <inheritdoc/>
    public bool AccountsAppearOutsideTheStore => false;

    /// <inheritdoc/>
    public async ValueTask<PasswordCheckOutcome> CheckAsync(Account account, ReadOnlyMemory<byte> password, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        await _hashing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            byte[] bytes = password.ToArray();
            bool verified = await Task.Run(() => PasswordHasher.Verify(bytes, account.PasswordHash), cancellationToken).ConfigureAwait(false);
            return verified ? PasswordCheckOutcome.Right : PasswordCheckOutcome.Wrong;
        }
        finally
        {
            _hashing.Release();
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _hashing.Dispose();
}

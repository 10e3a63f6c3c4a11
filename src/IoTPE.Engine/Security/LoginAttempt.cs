namespace IoTPE.Engine.Security;

/// <summary>
/// A password check that <see cref="LoginLimiter"/> let start: report its outcome exactly once,
/// or dispose it (a check that ended without an answer, e.g. the client went away, counts as a
/// failure, so that abandoning checks does not buy free guesses).
/// </summary>
public sealed class LoginAttempt : IDisposable
{
    private readonly LoginLimiter _limiter;
    private readonly LoginLimiter.BucketKey[] _keys;
    private readonly string? _account;
    private readonly LoginLimiter.AddressBucket? _source;
    private int _finished;

    internal LoginAttempt(LoginLimiter limiter, LoginLimiter.BucketKey[] keys, string? account, LoginLimiter.AddressBucket? source)
    {
        _limiter = limiter;
        _keys = keys;
        _account = account;
        _source = source;
    }

    /// <summary>The password was right.</summary>
    public void Succeeded() => Finish(true);

    /// <summary>The password was wrong, or the account does not exist.</summary>
    public void Failed() => Finish(false);

    /// <summary>
    /// Nothing was checked (the database server that checks passwords is unreachable): the check
    /// ends without counting as a failure, since no guess was answered.
    /// </summary>
    public void Unanswered() => Finish(null);

    /// <inheritdoc/>
    public void Dispose() => Finish(false);

    private void Finish(bool? succeeded)
    {
        if (Interlocked.Exchange(ref _finished, 1) == 0)
        {
            _limiter.Finish(_keys, _account, _source, succeeded);
        }
    }
}

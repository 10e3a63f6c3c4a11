namespace IoTPE.Client;

/// <summary>
/// Exponential backoff with jitter: the n-th delay is drawn uniformly from the upper half of
/// <c>min(MaxDelay, InitialDelay * 2^(n-1))</c> ("equal jitter"), so that many clients that lost the same broker
/// do not come back in lockstep, yet none retries sooner than half the nominal delay.
/// </summary>
/// <param name="InitialDelay">The nominal first delay; must be positive.</param>
/// <param name="MaxDelay">The cap on the nominal delay; at least <paramref name="InitialDelay"/>.</param>
public sealed record BackoffPolicy(TimeSpan InitialDelay, TimeSpan MaxDelay)
{
    /// <summary>The delay before attempt <paramref name="failures"/> + 1, after <paramref name="failures"/> consecutive failures.</summary>
    /// <param name="failures">How many attempts failed in a row; at least 1.</param>
    public TimeSpan GetDelay(int failures)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failures, 1);
        double nominal = InitialDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
        nominal = Math.Min(nominal, MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((nominal / 2) + (Random.Shared.NextDouble() * nominal / 2));
    }

    internal void Validate(string name)
    {
        if (InitialDelay <= TimeSpan.Zero || MaxDelay < InitialDelay)
        {
            throw new ArgumentException($"{name}: InitialDelay must be positive and MaxDelay at least InitialDelay.", name);
        }
    }
}

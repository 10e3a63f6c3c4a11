using System.Net;

namespace IoTPE.Engine.Security;

/// <summary>
/// Slows down password guessing: after <see cref="MaxFailures"/> failed logins from one address
/// within <see cref="Window"/>, further attempts from it are refused without checking the
/// password until the window has passed.
/// </summary>
public sealed class FailedLoginLimiter(TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<IPAddress, (long WindowStart, int Failures)> _failures = [];

    /// <summary>Failures allowed per address and window.</summary>
    public int MaxFailures { get; init; } = 5;

    /// <summary>The window failures are counted in.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>True when <paramref name="address"/> has used up its attempts.</summary>
    public bool IsBlocked(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }
        long now = time.GetTimestamp();
        lock (_gate)
        {
            return _failures.TryGetValue(address, out var entry) &&
                time.GetElapsedTime(entry.WindowStart, now) < Window &&
                entry.Failures >= MaxFailures;
        }
    }

    /// <summary>Counts a failed login from <paramref name="address"/>.</summary>
    public void RecordFailure(IPAddress? address)
    {
        if (address is null)
        {
            return;
        }
        long now = time.GetTimestamp();
        lock (_gate)
        {
            if (_failures.Count > 10_000)
            {
                // Bound the memory a scan from many addresses can take.
                foreach (IPAddress stale in _failures.Where(e => time.GetElapsedTime(e.Value.WindowStart, now) >= Window).Select(e => e.Key).ToList())
                {
                    _failures.Remove(stale);
                }
            }
            if (!_failures.TryGetValue(address, out var entry) || time.GetElapsedTime(entry.WindowStart, now) >= Window)
            {
                entry = (now, 0);
            }
            _failures[address] = (entry.WindowStart, entry.Failures + 1);
        }
    }
}

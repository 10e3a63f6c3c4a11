namespace IoTPE.Engine.Scripts;

/// <summary>
/// Run requests of each account the engine holds (waiting or running, not yet acknowledged), read
/// when a request is published to decide whether the account's queue has room. Thread-safe: the
/// broker's threads add, the dispatcher removes.
/// </summary>
internal sealed class RunQueueCounts(int maxPerAccount)
{
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly Lock _sync = new();
    private long _refused;

    /// <summary>Most requests of one account.</summary>
    public int MaxPerAccount => maxPerAccount;

    /// <summary>Whether one more request of <paramref name="account"/> fits; counts a refusal when not.</summary>
    public bool Admits(string account, out int queued, out long refusedSoFar)
    {
        lock (_sync)
        {
            queued = _counts.GetValueOrDefault(account);
            if (queued < maxPerAccount)
            {
                refusedSoFar = _refused;
                return true;
            }
            refusedSoFar = ++_refused;
            return false;
        }
    }

    public void Add(string account)
    {
        lock (_sync)
        {
            _counts[account] = _counts.GetValueOrDefault(account) + 1;
        }
    }

    public void Remove(string account)
    {
        lock (_sync)
        {
            int count = _counts.GetValueOrDefault(account) - 1;
            if (count <= 0)
            {
                _counts.Remove(account);
            }
            else
            {
                _counts[account] = count;
            }
        }
    }
}

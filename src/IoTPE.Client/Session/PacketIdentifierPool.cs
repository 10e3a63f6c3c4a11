namespace IoTPE.Client.Session;

/// <summary>
/// The packet identifiers this client has in use (spec 2.2.1): PUBLISH, SUBSCRIBE and UNSUBSCRIBE share one space
/// of 1-65535. Identifiers are handed out round-robin, so a freed one is not reused soon. Thread-safe.
/// </summary>
internal sealed class PacketIdentifierPool
{
    private readonly Lock _gate = new();
    private readonly bool[] _used = new bool[ushort.MaxValue + 1];
    private int _count;
    private int _next = 1;

    /// <summary>How many identifiers are in use.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>Marks an identifier as in use (one read from the state file).</summary>
    public void Reserve(ushort id)
    {
        if (id == 0)
        {
            return;
        }

        lock (_gate)
        {
            if (!_used[id])
            {
                _used[id] = true;
                _count++;
            }
        }
    }

    /// <summary>A free identifier, or 0 when all 65,535 are in use or fewer than <paramref name="keepFree"/> would remain.</summary>
    /// <param name="keepFree">How many identifiers to leave for others (e.g. SUBSCRIBE when renting for a backlog of publishes).</param>
    public ushort Rent(int keepFree = 0)
    {
        lock (_gate)
        {
            if (_count + keepFree >= ushort.MaxValue)
            {
                return 0;
            }

            while (true)
            {
                int candidate = _next;
                _next = candidate == ushort.MaxValue ? 1 : candidate + 1;
                if (!_used[candidate])
                {
                    _used[candidate] = true;
                    _count++;
                    return (ushort)candidate;
                }
            }
        }
    }

    /// <summary>Frees an identifier (0 is ignored).</summary>
    public void Return(ushort id)
    {
        if (id == 0)
        {
            return;
        }

        lock (_gate)
        {
            if (_used[id])
            {
                _used[id] = false;
                _count--;
            }
        }
    }
}

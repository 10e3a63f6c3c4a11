using IoTPE.Broker;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// Run requests of each account the engine holds (waiting or running, not yet acknowledged) and
/// the ones admitted but not yet handed over, read when a request is published to decide whether
/// the account's queue has room. Thread-safe: the broker's threads reserve and add, the dispatcher
/// removes.
/// </summary>
/// <remarks>
/// The broker hands a stored request to the engine once its commit is durable (or at once, when
/// the engine can take it right away: docs/architecture.md, durability contract, item 9), so between
/// the publish and the hand-over a request is only reserved here: without the reservation, a burst
/// published within one commit would all be admitted. A reservation whose request never arrives
/// (its commit failed and the publisher was refused) expires after <see cref="ReservationLifetime"/>
/// (looked for at most once a second).
/// </remarks>
internal sealed class RunQueueCounts(int maxPerAccount, TimeProvider? time = null)
{
    /// <summary>How long an admitted request may take to reach the engine before its reservation lapses.</summary>
    public static readonly TimeSpan ReservationLifetime = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly Dictionary<ApplicationMessage, (string Account, long At)> _reserved = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, int> _reservedPerAccount = new(StringComparer.Ordinal);
    private readonly Lock _sync = new();
    private long _refused;
    // Lapsed reservations are looked for at most once a second: the check runs on every run
    // request the broker routes, and a scan of every reservation each time would cost per request.
    private long _nextLapseCheck;

    /// <summary>Most requests of one account.</summary>
    public int MaxPerAccount => maxPerAccount;

    /// <summary>Whether one more request of <paramref name="account"/> fits; counts a refusal when not.</summary>
    public bool Admits(string account, out int queued, out long refusedSoFar) => Admit(account, null, out queued, out refusedSoFar);

    /// <summary>
    /// As <see cref="Admits"/>, and when it fits, holds the room for <paramref name="message"/> until
    /// it is handed to the engine (<see cref="Add"/>).
    /// </summary>
    public bool TryReserve(string account, ApplicationMessage message, out int queued, out long refusedSoFar) =>
        Admit(account, message, out queued, out refusedSoFar);

    private bool Admit(string account, ApplicationMessage? message, out int queued, out long refusedSoFar)
    {
        long now = _time.GetTimestamp();
        lock (_sync)
        {
            DropLapsedReservations(now);
            queued = _counts.GetValueOrDefault(account) + _reservedPerAccount.GetValueOrDefault(account);
            if (queued >= maxPerAccount)
            {
                refusedSoFar = ++_refused;
                return false;
            }
            refusedSoFar = _refused;
            if (message is not null && _reserved.TryAdd(message, (account, now)))
            {
                _reservedPerAccount[account] = _reservedPerAccount.GetValueOrDefault(account) + 1;
            }
            return true;
        }
    }

    /// <summary>A request of <paramref name="account"/> reached the engine (its reservation, if any, becomes a count).</summary>
    public void Add(string account, ApplicationMessage message)
    {
        lock (_sync)
        {
            if (_reserved.Remove(message, out var reservation))
            {
                Decrement(_reservedPerAccount, reservation.Account);
            }
            _counts[account] = _counts.GetValueOrDefault(account) + 1;
        }
    }

    /// <summary>A request of <paramref name="account"/> left the engine (acknowledged).</summary>
    public void Remove(string account)
    {
        lock (_sync)
        {
            Decrement(_counts, account);
        }
    }

    // Under _sync.
    private void DropLapsedReservations(long now)
    {
        if (_reserved.Count == 0 || now < _nextLapseCheck)
        {
            return;
        }
        _nextLapseCheck = now + _time.TimestampFrequency;
        List<ApplicationMessage>? lapsed = null;
        foreach ((ApplicationMessage message, (string _, long at)) in _reserved)
        {
            if (_time.GetElapsedTime(at, now) >= ReservationLifetime)
            {
                (lapsed ??= []).Add(message);
            }
        }
        foreach (ApplicationMessage message in lapsed ?? [])
        {
            _reserved.Remove(message, out var reservation);
            Decrement(_reservedPerAccount, reservation.Account);
        }
    }

    private static void Decrement(Dictionary<string, int> counts, string account)
    {
        int count = counts.GetValueOrDefault(account) - 1;
        if (count <= 0)
        {
            counts.Remove(account);
        }
        else
        {
            counts[account] = count;
        }
    }
}

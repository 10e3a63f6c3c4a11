using System.Net;
using System.Net.Sockets;

namespace IoTPE.Engine.Security;

/// <summary>
/// Limits password guessing before any password is hashed. Every check is counted when it
/// starts, in three buckets: the source address (IPv4 /32, IPv6 /64, since one IPv6 host holds a
/// whole /64), the account, and the pair of both. A bucket lets <see cref="FreeFailures"/> checks
/// fail; after that it allows one check at a time, each after a delay that doubles with every
/// further failure (<see cref="BaseDelay"/> up to <see cref="MaxDelay"/>), and it forgets its
/// failures after <see cref="ForgetAfter"/> without one. At most <see cref="MaxConcurrentChecks"/>
/// checks of one bucket run at once, so a burst of parallel logins cannot get more guesses in
/// before the first failures are counted.
/// </summary>
/// <remarks>
/// A pair that has logged in successfully before (an address the account is known to use) is not
/// held back by the address's or the account's failures, only by its own: an attacker elsewhere
/// cannot lock an account out of its usual addresses, nor can one user behind a NAT lock out the
/// others. What this cannot tell apart is an attacker and a legitimate first login from the same
/// address to the same account; that login waits for the delay.
/// </remarks>
public sealed class LoginLimiter(TimeProvider time)
{
    // Entries beyond this are swept of those with nothing to remember; the limit bounds what a
    // scan from many addresses can take (about 100 bytes per entry).
    private const int SweepAbove = 10_000;
    private const int MaxKnownAddressesPerAccount = 32;

    private readonly Lock _gate = new();
    private readonly Dictionary<BucketKey, Bucket> _buckets = [];
    private readonly Dictionary<string, List<AddressBucket>> _knownAddresses = new(StringComparer.Ordinal);

    /// <summary>Failed checks a bucket allows before it delays the next one.</summary>
    public int FreeFailures { get; init; } = 5;

    /// <summary>The delay after the first failure beyond <see cref="FreeFailures"/>; it doubles with each further one.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between two checks of a bucket.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>A bucket without a failure for this long starts afresh.</summary>
    public TimeSpan ForgetAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Checks of one bucket that may run at the same time. One by default: clients sharing an
    /// account and reconnecting together wait for the first check, and then get in through the
    /// authenticator's memory of verified passwords without a check of their own.
    /// </summary>
    public int MaxConcurrentChecks { get; init; } = 1;

    /// <summary>
    /// Asks to check a password for <paramref name="account"/> (null: no such account, counted on
    /// the address only) from <paramref name="address"/>. Returns the attempt to report the outcome
    /// to, or null with how long to wait when the check must not run now.
    /// </summary>
    public LoginAttempt? TryBegin(string? account, IPAddress? address, out TimeSpan retryAfter) =>
        TryBegin(account, address, out retryAfter, out _);

    /// <summary>
    /// As <see cref="TryBegin(string?, IPAddress?, out TimeSpan)"/>; <paramref name="heldByRunningCheck"/>
    /// tells that the check may not run now only because another check of one of its buckets is
    /// running: the caller may wait for <see cref="NextCheckFinished"/> (taken before this call) and
    /// ask again, instead of refusing a login that no failure has delayed.
    /// </summary>
    public LoginAttempt? TryBegin(string? account, IPAddress? address, out TimeSpan retryAfter, out bool heldByRunningCheck)
    {
        long now = time.GetTimestamp();
        heldByRunningCheck = false;
        AddressBucket? source = address is null ? null : AddressBucket.Of(address);
        lock (_gate)
        {
            bool known = account is not null && source is { } s && IsKnown(account, s);
            var keys = new BucketKey[3];
            int count = 0;
            if (source is { } a && !known)
            {
                keys[count++] = BucketKey.ForAddress(a);
            }
            if (account is not null && !known)
            {
                keys[count++] = BucketKey.ForAccount(account);
            }
            if (account is not null && source is { } p)
            {
                keys[count++] = BucketKey.ForPair(account, p);
            }
            retryAfter = TimeSpan.Zero;
            bool delayedByFailures = false, onlyRunning = false;
            for (int i = 0; i < count; i++)
            {
                if (_buckets.TryGetValue(keys[i], out Bucket? bucket))
                {
                    TimeSpan wait = WaitFor(bucket, now, out bool byRunningCheck);
                    if (wait > retryAfter)
                    {
                        retryAfter = wait;
                    }
                    if (wait > TimeSpan.Zero)
                    {
                        onlyRunning |= byRunningCheck;
                        delayedByFailures |= !byRunningCheck;
                    }
                }
            }
            if (retryAfter > TimeSpan.Zero)
            {
                heldByRunningCheck = onlyRunning && !delayedByFailures;
                return null;
            }
            if (_buckets.Count > SweepAbove)
            {
                Sweep(now);
            }
            BucketKey[] held = keys[..count];
            for (int i = 0; i < count; i++)
            {
                if (!_buckets.TryGetValue(keys[i], out Bucket? bucket))
                {
                    bucket = new Bucket();
                    _buckets.Add(keys[i], bucket);
                }
                bucket.Pending++;
            }
            return new LoginAttempt(this, held, account, source);
        }
    }

    /// <summary>
    /// Completes when the next check of any bucket finishes. Take it before
    /// <see cref="TryBegin(string?, IPAddress?, out TimeSpan, out bool)"/>, so that a check finishing
    /// in between is not missed.
    /// </summary>
    public Task NextCheckFinished
    {
        get
        {
            lock (_gate)
            {
                return _nextCheckFinished.Task;
            }
        }
    }

    private TaskCompletionSource _nextCheckFinished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Zero when the bucket allows a check now; otherwise how long until it does (at least a tick),
    // and whether only a running check holds it. Under _gate.
    private TimeSpan WaitFor(Bucket bucket, long now, out bool byRunningCheck)
    {
        byRunningCheck = false;
        if (bucket.Failures > 0 && time.GetElapsedTime(bucket.LastFailure, now) >= ForgetAfter)
        {
            bucket.Failures = 0;
        }
        if (bucket.Pending >= MaxConcurrentChecks)
        {
            byRunningCheck = bucket.Failures < FreeFailures;
            return BaseDelay;
        }
        if (bucket.Failures + bucket.Pending < FreeFailures)
        {
            return TimeSpan.Zero;
        }
        if (bucket.Pending > 0)
        {
            // Beyond the free failures, one check at a time: its outcome sets the next delay.
            return BaseDelay;
        }
        TimeSpan remaining = DelayAfter(bucket.Failures) - time.GetElapsedTime(bucket.LastFailure, now);
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    private TimeSpan DelayAfter(int failures)
    {
        int doublings = Math.Min(failures - FreeFailures, 30);
        double ticks = BaseDelay.Ticks * Math.Pow(2, doublings);
        return ticks >= MaxDelay.Ticks ? MaxDelay : TimeSpan.FromTicks((long)ticks);
    }

    // succeeded: null when nothing was answered (neither a success nor a failure).
    internal void Finish(BucketKey[] keys, string? account, AddressBucket? source, bool? succeeded)
    {
        long now = time.GetTimestamp();
        lock (_gate)
        {
            foreach (BucketKey key in keys)
            {
                if (!_buckets.TryGetValue(key, out Bucket? bucket))
                {
                    continue;
                }
                bucket.Pending--;
                if (succeeded is null)
                {
                    continue;
                }
                if (succeeded.Value)
                {
                    // The account's owner got in: what others tried against it no longer matters to
                    // this pair or this account. The address keeps its count (an attacker who owns
                    // one account must not reset it by logging in between guesses).
                    if (key.Kind != BucketKind.Address)
                    {
                        bucket.Failures = 0;
                    }
                }
                else
                {
                    bucket.Failures++;
                    bucket.LastFailure = now;
                }
            }
            if (succeeded == true && account is not null && source is { } s)
            {
                Remember(account, s);
            }
            TaskCompletionSource finished = _nextCheckFinished;
            _nextCheckFinished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            finished.SetResult();
        }
    }

    // Under _gate.
    private bool IsKnown(string account, AddressBucket address) =>
        _knownAddresses.TryGetValue(account, out List<AddressBucket>? known) && known.Contains(address);

    // Under _gate. The most recent addresses are kept.
    private void Remember(string account, AddressBucket address)
    {
        if (!_knownAddresses.TryGetValue(account, out List<AddressBucket>? known))
        {
            if (_knownAddresses.Count > SweepAbove)
            {
                _knownAddresses.Clear();
            }
            known = [];
            _knownAddresses.Add(account, known);
        }
        known.Remove(address);
        if (known.Count >= MaxKnownAddressesPerAccount)
        {
            known.RemoveAt(0);
        }
        known.Add(address);
    }

    // Under _gate. Drops buckets with nothing running and no failure left to remember.
    private void Sweep(long now)
    {
        List<BucketKey>? idle = null;
        foreach ((BucketKey key, Bucket bucket) in _buckets)
        {
            if (bucket.Pending == 0 && (bucket.Failures == 0 || time.GetElapsedTime(bucket.LastFailure, now) >= ForgetAfter))
            {
                (idle ??= []).Add(key);
            }
        }
        foreach (BucketKey key in idle ?? [])
        {
            _buckets.Remove(key);
        }
    }

    /// <summary>Buckets held in memory (for tests of the bound).</summary>
    internal int BucketCount
    {
        get
        {
            lock (_gate)
            {
                return _buckets.Count;
            }
        }
    }

    private sealed class Bucket
    {
        public int Pending;
        public int Failures;
        public long LastFailure;
    }

    internal enum BucketKind : byte
    {
        Address,
        Account,
        Pair,
    }

    internal readonly record struct BucketKey(BucketKind Kind, string? Account, AddressBucket Address)
    {
        public static BucketKey ForAddress(AddressBucket address) => new(BucketKind.Address, null, address);

        public static BucketKey ForAccount(string account) => new(BucketKind.Account, account, default);

        public static BucketKey ForPair(string account, AddressBucket address) => new(BucketKind.Pair, account, address);
    }

    /// <summary>An IPv4 address, or the /64 network of an IPv6 address (IPv4-mapped ones count as IPv4).</summary>
    internal readonly record struct AddressBucket(ulong High, ulong Low)
    {
        public static AddressBucket Of(IPAddress address)
        {
            if (address.IsIPv4MappedToIPv6)
            {
                address = address.MapToIPv4();
            }
            Span<byte> bytes = stackalloc byte[16];
            address.TryWriteBytes(bytes, out int written);
            if (address.AddressFamily == AddressFamily.InterNetwork)
            {
                return new AddressBucket(0, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[..written]));
            }
            // The low 64 bits (the interface identifier) are chosen freely by the host: ignore them.
            return new AddressBucket(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes), ulong.MaxValue);
        }
    }
}

using IoTPE.Broker.Monitoring;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Sessions;

/// <summary>
/// Bytes of QoS 1/2 messages queued or in flight for the sessions of each account (see
/// <see cref="BrokerOptions.MaxQueuedBytesPerAccount"/>), so that one account's offline devices
/// cannot fill the process's memory and store. Sessions without an account (anonymous, internal)
/// are bounded by <see cref="BrokerOptions.MaxQueuedMessages"/> alone. Used under the broker lock.
/// </summary>
internal sealed class AccountQueueQuota(long maxBytesPerAccount, ILogger log)
{
    // A delivery's own cost beyond its topic and payload: its queue entry and stored row.
    private const int DeliveryOverhead = 64;

    private readonly Dictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private long _refusals;

    /// <summary>The account a session's deliveries count against, or null.</summary>
    public static string? AccountOf(Session session) => session.Identity.IsInternal ? null : session.Identity.UserName;

    public static long SizeOf(ApplicationMessage message) => message.TopicUtf8.Length + message.PayloadLength + DeliveryOverhead;

    /// <summary>The bytes counted for <paramref name="account"/>.</summary>
    public long BytesOf(string account) => _bytes.GetValueOrDefault(account);

    /// <summary>Whether <paramref name="extraBytes"/> more fit in <paramref name="account"/>'s quota; logs a refusal when not.</summary>
    public bool Admits(string account, long extraBytes, string topic)
    {
        long queued = _bytes.GetValueOrDefault(account);
        if (queued + extraBytes <= maxBytesPerAccount)
        {
            return true;
        }
        _refusals++;
        if (_refusals == 1 || _refusals % 1000 == 0)
        {
            log.AccountQueueQuotaHit(account, queued, maxBytesPerAccount, topic, _refusals);
        }
        return false;
    }

    public void Charge(Session session, Delivery delivery)
    {
        if (session.QueueLimit is not null && delivery.ChargedSession is null)
        {
            delivery.ChargedSession = session;
            delivery.ChargedBytes = SizeOf(delivery.Message);
            session.QueuedBytes += delivery.ChargedBytes;
        }
        if (AccountOf(session) is not { } account)
        {
            return;
        }
        long size = SizeOf(delivery.Message);
        delivery.ChargedAccount = account;
        delivery.ChargedBytes = size;
        _bytes[account] = _bytes.GetValueOrDefault(account) + size;
    }

    /// <summary>
    /// Gives <paramref name="session"/> its own queue bound and counts what it already holds (its
    /// deliveries were loaded from the store before its in-process client connected).
    /// </summary>
    public void Limit(Session session, SessionQueueLimit limit)
    {
        session.QueueLimit = limit;
        foreach (Delivery delivery in session.Queued.Concat(session.InFlight.Values))
        {
            Charge(session, delivery);
        }
        if (session.Spilled is { } spilled)
        {
            session.QueuedBytes += spilled.Bytes;
        }
    }

    /// <summary>
    /// A delivery of <paramref name="bytes"/> joins <paramref name="session"/>'s spilled tail: it
    /// counts as any queued delivery does, against the account and the session's own limit, but in
    /// the tail's total (there is no <see cref="Delivery"/> in memory to remember the charge).
    /// </summary>
    public void ChargeSpilled(Session session, SpilledTail spilled, long bytes)
    {
        spilled.Bytes += bytes;
        if (session.QueueLimit is not null)
        {
            session.QueuedBytes += bytes;
        }
        if (AccountOf(session) is { } account)
        {
            _bytes[account] = _bytes.GetValueOrDefault(account) + bytes;
        }
    }

    /// <summary>A delivery of <paramref name="bytes"/> left the spilled tail (read back into memory, dropped or discarded).</summary>
    public void ReleaseSpilled(Session session, SpilledTail spilled, long bytes)
    {
        bytes = Math.Min(bytes, spilled.Bytes);
        spilled.Bytes -= bytes;
        if (session.QueueLimit is not null)
        {
            session.QueuedBytes -= bytes;
        }
        if (AccountOf(session) is not { } account)
        {
            return;
        }
        long left = _bytes.GetValueOrDefault(account) - bytes;
        if (left <= 0)
        {
            _bytes.Remove(account);
        }
        else
        {
            _bytes[account] = left;
        }
    }

    /// <summary>The delivery left its session (completed, dropped, discarded); safe to call more than once.</summary>
    public void Release(Delivery delivery)
    {
        if (delivery.ChargedSession is { } session)
        {
            session.QueuedBytes -= delivery.ChargedBytes;
            delivery.ChargedSession = null;
        }
        if (delivery.ChargedAccount is not { } account)
        {
            return;
        }
        delivery.ChargedAccount = null;
        long left = _bytes.GetValueOrDefault(account) - delivery.ChargedBytes;
        if (left <= 0)
        {
            _bytes.Remove(account);
        }
        else
        {
            _bytes[account] = left;
        }
    }
}

namespace IoTPE.Broker.Connections;

/// <summary>
/// The signal a congested consumer (a subscriber's connection) gives the publishers paused for it
/// (see <see cref="BrokerOptions.OutputBackpressureBytes"/>): the side that drains it (its output
/// buffer's sends, its queue's deliveries, its close) completes what they await, so a publisher
/// resumes as soon as the consumer keeps up again instead of polling for it. Costs nothing while
/// nobody waits: the completion is created only when a publisher actually has to wait, and shared
/// by every publisher waiting for the same consumer. Thread-safe, without a lock. The store's commits
/// use one in the same way for the connections paused by <see cref="BrokerOptions.MaxUncommittedPayloadBytes"/>.
/// </summary>
internal sealed class ConsumerRelief
{
    private TaskCompletionSource? _waiting;

    /// <summary>
    /// Registers a waiting publisher and returns what it awaits. The caller checks again whether
    /// the consumer is still congested after this call and before awaiting: a drain between its
    /// first check and this call finds no waiter and signals nobody.
    /// </summary>
    public Task Arm()
    {
        TaskCompletionSource? waiting = Volatile.Read(ref _waiting);
        if (waiting is not null)
        {
            return waiting.Task;
        }
        // Continuations run on the thread pool: the signal comes under the broker lock or from a send loop.
        var created = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (Interlocked.CompareExchange(ref _waiting, created, null) ?? created).Task;
    }

    /// <summary>
    /// Whether a publisher waits. A full fence: the drained state written before this call is seen
    /// by a publisher that armed after it, and a publisher that armed before it is seen here
    /// (otherwise, on ARM64 in particular, both could miss each other and the publisher would wait
    /// out its whole limit).
    /// </summary>
    public bool HasWaiters => Interlocked.CompareExchange(ref _waiting, null, null) is not null;

    /// <summary>Wakes every waiting publisher; each checks the consumer again and arms again if it is still congested.</summary>
    public void Signal() => Interlocked.Exchange(ref _waiting, null)?.TrySetResult();
}

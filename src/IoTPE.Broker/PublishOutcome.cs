namespace IoTPE.Broker;

/// <summary>What became of a message published from inside the process with <see cref="Broker.TryPublish"/>.</summary>
public enum PublishOutcome
{
    /// <summary>Routed to every subscriber (and retained, if asked).</summary>
    Published,

    /// <summary>Nothing was published: a QoS 1/2 message would overflow a subscriber's queue or an account's queued bytes.</summary>
    QueueFull,

    /// <summary>Nothing was published: the retained message does not fit its namespace's <see cref="Broker.RetainedQuota"/>.</summary>
    RetainedQuotaExceeded,

    /// <summary>Nothing was published: the data folder's free space is below its <see cref="Broker.DiskReserve"/>.</summary>
    DiskReserveReached,

    /// <summary>The store could not commit the message (only from <see cref="Broker.TryPublishDurablyAsync"/>): it was not delivered.</summary>
    StoreFailed,
}

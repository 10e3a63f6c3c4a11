namespace IoTPE.Broker.Storage;

/// <summary>What reading a paged-out payload back from the store found (<see cref="ResidentPayloads.TryRead"/>).</summary>
internal enum PayloadReadResult
{
    /// <summary>The payload was read.</summary>
    Read,

    /// <summary>
    /// The store answered that it does not hold the message: it can never be sent, and its
    /// deliveries are dropped (logged) rather than block the queues they are in.
    /// </summary>
    Missing,

    /// <summary>
    /// The store could not be read (an I/O error, a database server that is away): the deliveries
    /// wait where they are and the read is tried again.
    /// </summary>
    Unavailable,
}

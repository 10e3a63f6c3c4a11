namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// A batch whose COMMIT got no answer (the connection broke while it was being committed): it may
/// or may not have committed, and only the server can tell, once it is reachable again, by the
/// batch number that every transaction writes (<c>counters.writer_batch</c>). Its callbacks were
/// told <see langword="false"/> at once, as the broker must refuse what it cannot confirm.
/// </summary>
/// <param name="Batch">The number the batch wrote into <c>writer_batch</c>.</param>
/// <param name="CarriedCount">
/// How many operations at the head of the writer's carry came from this batch (its writes that the
/// broker still counts on, to be written again if the batch did not commit).
/// </param>
/// <param name="Compensations">
/// What undoes, if the batch did commit, the writes the broker dropped when told false (its queued
/// deliveries and its QoS 2 packet identifiers): these replace the carried head.
/// </param>
internal sealed record UnresolvedCommit(long Batch, int CarriedCount, List<StoreOperation> Compensations);

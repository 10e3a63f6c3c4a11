namespace IoTPE.Broker.Storage;

/// <summary>
/// One enqueued store call, as a struct so that queueing it allocates nothing: the record or
/// callback the broker passed is kept by reference, small arguments inline. A building block of store
/// adapters whose single writer applies the calls in order (<see cref="QueuedWritesBrokerStore"/>).
/// </summary>
/// <param name="Kind">Which call.</param>
/// <param name="Reference">The record (session, subscription, message, delivery), the callback, or the second string argument.</param>
/// <param name="Text">The client id or topic argument, if any.</param>
/// <param name="Number">The message id, sequence or packet identifier argument, if any.</param>
public readonly record struct StoreOperation(StoreOperationKind Kind, object? Reference, string? Text, long Number);

namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// What the broker undoes in memory when a <c>WhenDurable</c> callback is told <see langword="false"/>,
/// and therefore what the database must not keep from that callback's writes: the deliveries the
/// epoch queued (the broker drops them; its publishers were refused) and the incoming QoS 2 packet
/// identifiers it recorded (the broker forgets them, so the client's resend is a new message). Every
/// other write describes state the broker keeps regardless (a session, a subscription, a retained
/// message, a completed or released delivery, an id reservation) and is written later instead.
/// </summary>
internal static class RefusedWrites
{
    /// <summary>True for a write the broker undoes when its callback is told false.</summary>
    public static bool IsUndoneByBroker(StoreOperationKind kind) =>
        kind is StoreOperationKind.InsertDelivery or StoreOperationKind.AddIncomingPacketIdentifier;

    /// <summary>The write that removes what <paramref name="operation"/> (one the broker undoes) wrote.</summary>
    public static StoreOperation Compensation(in StoreOperation operation) => operation.Kind switch
    {
        StoreOperationKind.InsertDelivery when operation.Reference is StoredDelivery delivery =>
            new StoreOperation(StoreOperationKind.DeleteDelivery, null, delivery.ClientId, delivery.Sequence),
        StoreOperationKind.AddIncomingPacketIdentifier =>
            new StoreOperation(StoreOperationKind.RemoveIncomingPacketIdentifier, null, operation.Text, operation.Number),
        _ => throw new InvalidOperationException($"{operation.Kind} is not undone by the broker."),
    };
}

namespace IoTPE.Broker.Storage;

/// <summary>Which <see cref="IBrokerStore"/> call a <see cref="StoreOperation"/> records.</summary>
/// <remarks>
/// Each member names the <see cref="IBrokerStore"/> method it records; <see cref="QueuedWritesBrokerStore"/>
/// documents which <see cref="StoreOperation"/> fields hold which argument.
/// </remarks>
public enum StoreOperationKind : byte
{
    /// <summary><see cref="IBrokerStore.SaveSession"/>: Reference is the <see cref="StoredSession"/>.</summary>
    SaveSession,

    /// <summary><see cref="IBrokerStore.DeleteSession"/>: Text is the client id.</summary>
    DeleteSession,

    /// <summary><see cref="IBrokerStore.SaveSubscription"/>: Reference is the <see cref="StoredSubscription"/>.</summary>
    SaveSubscription,

    /// <summary><see cref="IBrokerStore.DeleteSubscription"/>: Text is the client id, Reference the topic filter.</summary>
    DeleteSubscription,

    /// <summary><see cref="IBrokerStore.InsertMessage"/>: Reference is the <see cref="StoredMessage"/>.</summary>
    InsertMessage,

    /// <summary><see cref="IBrokerStore.DeleteMessage"/>: Number is the message id.</summary>
    DeleteMessage,

    /// <summary><see cref="IBrokerStore.InsertDelivery"/>: Reference is the <see cref="StoredDelivery"/>.</summary>
    InsertDelivery,

    /// <summary><see cref="IBrokerStore.MarkDeliveryReleased"/>: Text is the client id, Number the sequence.</summary>
    MarkDeliveryReleased,

    /// <summary><see cref="IBrokerStore.DeleteDelivery"/>: Text is the client id, Number the sequence.</summary>
    DeleteDelivery,

    /// <summary><see cref="IBrokerStore.DeleteDeliveriesAfter"/>: Text is the client id, Number the sequence after which to delete.</summary>
    DeleteDeliveriesAfter,

    /// <summary><see cref="IBrokerStore.AddIncomingPacketIdentifier"/>: Text is the client id, Number the packet identifier.</summary>
    AddIncomingPacketIdentifier,

    /// <summary><see cref="IBrokerStore.RemoveIncomingPacketIdentifier"/>: Text is the client id, Number the packet identifier.</summary>
    RemoveIncomingPacketIdentifier,

    /// <summary><see cref="IBrokerStore.SetRetained"/>: Text is the topic, Number the message id.</summary>
    SetRetained,

    /// <summary><see cref="IBrokerStore.ClearRetained"/>: Text is the topic.</summary>
    ClearRetained,

    /// <summary><see cref="IBrokerStore.ReserveMessageIds"/>: Number is the reservation's upper bound.</summary>
    ReserveMessageIds,

    /// <summary>
    /// <see cref="IBrokerStore.WhenDurable"/>: Reference is the <c>Action&lt;bool&gt;</c> callback; Number is
    /// <see cref="QueuedWritesBrokerStore.SettlingCallback"/> for <see cref="IBrokerStore.WhenDurableOrSettled"/>, else 0.
    /// </summary>
    WhenDurable,
}

namespace IoTPE.Broker.Storage.MySql;

/// <summary>Which <see cref="IoTPE.Broker.Storage.IBrokerStore"/> call a <see cref="StoreOperation"/> records.</summary>
internal enum StoreOperationKind : byte
{
    SaveSession,
    DeleteSession,
    SaveSubscription,
    DeleteSubscription,
    InsertMessage,
    DeleteMessage,
    InsertDelivery,
    MarkDeliveryReleased,
    DeleteDelivery,
    DeleteDeliveriesAfter,
    AddIncomingPacketIdentifier,
    RemoveIncomingPacketIdentifier,
    SetRetained,
    ClearRetained,
    ReserveMessageIds,
    WhenDurable,
}

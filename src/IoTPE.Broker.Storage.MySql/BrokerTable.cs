namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// The broker's tables. Writes to different tables commute (no foreign keys, no triggers, and no
/// write reads another table), which is what lets a batch be applied table by table.
/// </summary>
internal enum BrokerTable
{
    Sessions,
    Subscriptions,
    Messages,
    Deliveries,
    IncomingPacketIdentifiers,
    Retained,
    Counters,
}

using IoTPE.Broker.Routing;
using IoTPE.Broker.Storage;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Protocol;

/// <summary>
/// Decides whether a planned PUBLISH (a client's, or a script's <see cref="Broker.TryPublish"/>) is
/// refused for the data folder's <see cref="DiskReserve"/>. Used under the broker lock, after
/// <see cref="MessageRouter.Plan"/> and before anything is changed or handed to the engine, so a
/// refused run request never also runs.
/// </summary>
/// <remarks>
/// <para>
/// Inside the reserve a message is refused when it would be stored for a client's persistent
/// session or retained: that is the data that fills a disk, and its publisher keeps it and sends it
/// again (0x97 in 5.0, no acknowledgement in 3.1.1). Messages for the engine's own session (run
/// requests) still pass, as do control requests, which the broker does not store, and
/// acknowledgements and deletes, which never come here. Below the floor those for the engine go too,
/// and a QoS 2 identifier of a persistent session is not stored either.
/// </para>
/// <para>
/// Every non-internal account is refused alike, whichever holds the most: the per-account quotas
/// (<c>maxQueuedBytesPerAccount</c>, the retained and kv quotas) already bound each account's share
/// while the disk has room, and the broker does not know which account a queue's growth belongs to
/// when several publish to one session. An empty retained message (a delete) is never refused.
/// </para>
/// </remarks>
internal static class DiskReserveAdmission
{
    /// <summary>Whether <paramref name="message"/>, planned in this pass, must be refused; counts the refusal.</summary>
    /// <param name="state">The broker's state, with its reserve.</param>
    /// <param name="router">The router that planned the message.</param>
    /// <param name="message">The message.</param>
    /// <param name="storesIncomingIdentifier">Whether accepting it stores a QoS 2 packet identifier.</param>
    public static bool Refuses(BrokerState state, MessageRouter router, ApplicationMessage message, bool storesIncomingIdentifier)
    {
        if (state.DiskReserve is not { IsEnabled: true } reserve)
        {
            return false;
        }
        bool retains = message.Retain && !message.Payload.IsEmpty;
        if (message.QoS == QualityOfService.AtMostOnce && !retains)
        {
            return false; // QoS 0 is never queued for a session, so nothing would be written.
        }
        DiskSpaceLevel level = reserve.Level;
        bool refused = level switch
        {
            DiskSpaceLevel.Ample => false,
            DiskSpaceLevel.Reserve => retains || router.Stores(message, includeInternal: false),
            _ => retains || storesIncomingIdentifier || router.Stores(message, includeInternal: true),
        };
        if (refused)
        {
            reserve.CountRefusal();
        }
        else
        {
            reserve.NoteWritten(message.TopicUtf8.Length + message.Payload.Length);
        }
        return refused;
    }
}

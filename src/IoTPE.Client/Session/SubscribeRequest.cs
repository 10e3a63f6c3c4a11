using IoTPE.Client.Dispatch;

namespace IoTPE.Client.Session;

/// <summary>A SUBSCRIBE (one or more filters) until its SUBACK; sent again on each connection until then.</summary>
internal sealed class SubscribeRequest
{
    public SubscribeRequest(IReadOnlyList<Subscription> subscriptions, TaskCompletionSource? done)
    {
        Subscriptions = subscriptions;
        Done = done;
    }

    public IReadOnlyList<Subscription> Subscriptions { get; }

    /// <summary>The caller's task; null for the resubscriptions after a lost session.</summary>
    public TaskCompletionSource? Done { get; }

    /// <summary>The packet identifier while it is sent on the current connection, else 0.</summary>
    public ushort PacketId { get; set; }
}

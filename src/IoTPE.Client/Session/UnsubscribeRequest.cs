namespace IoTPE.Client.Session;

/// <summary>An UNSUBSCRIBE until its UNSUBACK; sent again on each connection until then.</summary>
internal sealed class UnsubscribeRequest
{
    public UnsubscribeRequest(IReadOnlyList<string> filters, TaskCompletionSource done)
    {
        Filters = filters;
        Done = done;
    }

    public IReadOnlyList<string> Filters { get; }

    public TaskCompletionSource Done { get; }

    /// <summary>The packet identifier while it is sent on the current connection, else 0.</summary>
    public ushort PacketId { get; set; }
}

namespace IoTPE.Bridge;

/// <summary>A bridge's state as of one moment, as <c>$SYS/broker/bridge/&lt;name&gt;/</c> shows it.</summary>
/// <param name="Name">The bridge.</param>
/// <param name="Connected">Connected to the remote broker.</param>
/// <param name="QueuedMessages">Messages waiting for the remote (queued and in flight).</param>
/// <param name="QueuedBytes">Their bytes.</param>
/// <param name="OldestQueuedAgeSeconds">Seconds since the oldest of them was stored (0 when none is queued).</param>
/// <param name="Forwarded">Messages the remote completed (PUBCOMP/PUBACK, or sent at QoS 0) since the start.</param>
/// <param name="Received">Messages from the remote published locally since the start.</param>
/// <param name="Refused">QoS 1/2 PUBLISHes refused to local publishers because the queue was full, since the start.</param>
/// <param name="Dropped">QoS 0 messages dropped because the remote was not connected, and messages the remote refused.</param>
/// <param name="LastError">The last connection error or refusal, or null.</param>
public sealed record BridgeStatus(string Name, bool Connected, long QueuedMessages, long QueuedBytes, long OldestQueuedAgeSeconds, long Forwarded, long Received,
    long Refused, long Dropped, string? LastError);

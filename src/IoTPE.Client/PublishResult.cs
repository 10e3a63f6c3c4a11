namespace IoTPE.Client;

/// <summary>
/// The two moments of a publish (<see cref="MqttClient.Publish(MqttMessage, string?)"/>): when the message is durable
/// in the state file (<see cref="Stored"/>: from then on it is sent even if the process dies), and when the broker took
/// responsibility for it (<see cref="Delivered"/>: PUBACK/PUBCOMP).
/// </summary>
public sealed class PublishResult
{
    internal PublishResult(string? messageId, Task<PublishStatus> stored, Task delivered)
    {
        MessageId = messageId;
        Stored = stored;
        Delivered = delivered;
    }

    /// <summary>The application's identity for the message, if it gave one.</summary>
    public string? MessageId { get; }

    /// <summary>
    /// Completes once the message is committed to the state file (a few milliseconds: one group commit), or once the
    /// state file showed that a publish with the same identity was stored or delivered before (then nothing was added).
    /// Fails if the state file could not be written (nothing was stored).
    /// </summary>
    public Task<PublishStatus> Stored { get; }

    /// <summary>
    /// Completes when the broker took responsibility for the message (PUBACK for QoS 1, PUBCOMP for QoS 2; QoS 0: once
    /// written to the connection) — which may be much later if the client is offline. Fails with
    /// <see cref="MqttRejectedException"/> if the broker refused it (it is then dead-lettered). Cancelled when the
    /// client is disposed first: a stored message is still sent by the next run, and publishing its identity again
    /// then gives a task that follows it.
    /// </summary>
    public Task Delivered { get; }
}

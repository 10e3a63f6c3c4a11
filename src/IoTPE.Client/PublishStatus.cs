namespace IoTPE.Client;

/// <summary>What <see cref="MqttClient.Publish(MqttMessage, string?)"/> did with a message (<see cref="PublishResult.Stored"/>).</summary>
public enum PublishStatus
{
    /// <summary>Committed to the state file by this call: it will be sent even if the process dies now.</summary>
    Stored,

    /// <summary>
    /// A publish with the same message identity is stored and not yet acknowledged by the broker: nothing was added,
    /// and <see cref="PublishResult.Delivered"/> follows the earlier publish.
    /// </summary>
    AlreadyStored,

    /// <summary>
    /// A publish with the same message identity was acknowledged by the broker already (or refused: then
    /// <see cref="PublishResult.Delivered"/> fails with <see cref="MqttRejectedException"/>): nothing was added.
    /// </summary>
    AlreadyDelivered,

    /// <summary>QoS 0: kept in memory only, sent once when connected, lost with the process.</summary>
    NotStored,
}

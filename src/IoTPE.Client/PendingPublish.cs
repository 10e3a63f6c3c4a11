namespace IoTPE.Client;

/// <summary>A publish stored in the state file and not yet acknowledged by the broker (<see cref="MqttClient.GetPendingPublishesAsync"/>).</summary>
/// <param name="MessageId">The application's identity for it, if it gave one.</param>
/// <param name="Message">The message (topic, payload, QoS, retain flag, MQTT 5.0 properties).</param>
/// <param name="ReceivedByBroker">
/// QoS 2: the broker confirmed receipt (PUBREC), so only the release (PUBREL) is left; the message itself is never
/// sent again.
/// </param>
public sealed record PendingPublish(string? MessageId, MqttMessage Message, bool ReceivedByBroker);

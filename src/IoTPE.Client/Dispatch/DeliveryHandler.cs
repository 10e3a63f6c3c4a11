using IoTPE.Mqtt;

namespace IoTPE.Client.Dispatch;

/// <summary>
/// What a subscription does with a message. It may return replies (command results): they are committed together
/// with the message's completion, in one transaction, so a QoS 2 call is answered exactly once even across crashes.
/// Throwing means the message was not handled; it is retried.
/// </summary>
internal delegate ValueTask<IReadOnlyList<PublishPacket>?> DeliveryHandler(MqttMessage message, CancellationToken cancellationToken);

namespace IoTPE.Broker;

/// <summary>
/// A bound of its own for one in-process client's durable queue (the bridge's store-and-forward
/// queue), in place of <see cref="BrokerOptions.MaxQueuedMessages"/>: it counts deliveries queued
/// and in flight. A QoS 1/2 PUBLISH that would go beyond it is refused to its publisher whole (MQTT
/// 5.0 0x97; 3.1.1 not acknowledged), as for any full queue. Such a queue is meant to grow while its
/// consumer is away, so it does not slow publishers down as a congested consumer does.
/// </summary>
/// <param name="MaxMessages">Most deliveries queued and in flight.</param>
/// <param name="MaxBytes">Most bytes (topic, payload and a small per-delivery overhead) queued and in flight.</param>
public sealed record SessionQueueLimit(long MaxMessages, long MaxBytes);

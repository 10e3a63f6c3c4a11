namespace IoTPE.Broker.Sessions;

/// <summary>A client's Will Message, its Will Delay Interval and its Message Expiry Interval (MQTT 5.0 §3.1.2.5, §3.1.3.2).</summary>
/// <param name="Message">The message to publish; its expiry is set when it is published.</param>
/// <param name="DelayIntervalSeconds">Will Delay Interval.</param>
/// <param name="ExpiryIntervalSeconds">Message Expiry Interval, counted from publication, or null.</param>
internal sealed record SessionWill(ApplicationMessage Message, uint DelayIntervalSeconds, uint? ExpiryIntervalSeconds);

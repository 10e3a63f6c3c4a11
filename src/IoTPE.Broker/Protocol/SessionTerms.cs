using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Protocol;

/// <summary>What a connecting client asks of its session (MQTT 5.0 §3.1.2.4, §3.1.2.5, §3.1.2.11.2), as the broker grants it.</summary>
/// <param name="CleanStart">Whether an existing session ends first (Clean Start, 3.1.1 CleanSession).</param>
/// <param name="ProtocolVersion">The version the client speaks.</param>
/// <param name="ExpiryIntervalSeconds">The granted Session Expiry Interval; <see cref="uint.MaxValue"/> never expires.</param>
/// <param name="Will">The Will Message of the new connection, if any.</param>
internal readonly record struct SessionTerms(bool CleanStart, MqttProtocolVersion ProtocolVersion, uint ExpiryIntervalSeconds, SessionWill? Will);

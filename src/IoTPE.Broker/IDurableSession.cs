using IoTPE.Mqtt;

namespace IoTPE.Broker;

/// <summary>
/// An in-process client's persistent session, as <see cref="IBrokerPort.ConnectDurableSession"/>
/// returns it: its subscriptions are kept across restarts, and a delivery stays in its durable
/// queue until it is acknowledged.
/// </summary>
public interface IDurableSession
{
    /// <summary>The client identifier of the session.</summary>
    string ClientId { get; }

    /// <summary>Subscribes the session (kept across restarts). QoS 2 is granted as 1.</summary>
    void Subscribe(string topicFilter, QualityOfService qos = QualityOfService.AtLeastOnce);

    /// <summary>Completes a delivery: at QoS 1 it leaves the durable queue. Call it once per delivery.</summary>
    void Acknowledge(InternalDelivery delivery);
}

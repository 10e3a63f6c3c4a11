namespace IoTPE.Broker;

/// <summary>
/// What an in-process component (the process engine) needs from the broker, and nothing more:
/// publish a message, and hold a durable session whose deliveries it acknowledges when done.
/// <see cref="Broker"/> implements it; a test can drive the engine through an in-memory one.
/// </summary>
public interface IBrokerPort
{
    /// <summary>
    /// Publishes as a client's PUBLISH is handled: refused whole (nothing published) when a
    /// subscriber's queue, an account's queue quota or the retained quota would overflow.
    /// </summary>
    PublishOutcome TryPublish(ApplicationMessage message);

    /// <summary>
    /// Publishes from inside the process: a subscriber whose queue is full misses it
    /// (<see cref="BrokerOptions.QueueOverflowPolicy"/>); a retained message beyond its quota is not published.
    /// </summary>
    /// <returns><see cref="Mqtt.ReasonCode.Success"/>, or <see cref="Mqtt.ReasonCode.QuotaExceeded"/> when nothing was published.</returns>
    Mqtt.ReasonCode Publish(ApplicationMessage message);

    /// <summary>
    /// Connects (or resumes) the persistent session <paramref name="clientId"/>: QoS 1 deliveries
    /// stay queued durably until acknowledged, so those not acknowledged before a restart arrive again.
    /// </summary>
    /// <param name="clientId">The session's client identifier: <c>$iotpe/</c> and a name.</param>
    /// <param name="maxInFlight">Most unacknowledged deliveries at once.</param>
    /// <param name="onDelivery">Receives each delivery in order, on a broker thread after its pass released the broker lock: queue it and return.</param>
    /// <param name="receiveBeforeCommit">
    /// Take a QoS 1 delivery before its commit when it can be taken at once (see
    /// <see cref="Broker.ConnectInternalClient(string, int, Action{InternalDelivery}, SessionQueueLimit?, bool)"/>):
    /// a delivery acknowledged before the commit is then never written. If the commit fails, the
    /// publisher is refused although the session had the message.
    /// </param>
    IDurableSession ConnectDurableSession(string clientId, int maxInFlight, Action<InternalDelivery> onDelivery, bool receiveBeforeCommit = false);
}

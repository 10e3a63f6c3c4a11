namespace IoTPE.Broker.Security;

/// <summary>
/// The authorizer of a plain broker: every client may use every topic, except that nobody
/// publishes to <c>$</c>-topics (the broker's own, MQTT 5.0 §4.7.2), which the broker checks itself.
/// </summary>
public sealed class OpenAuthorizer : IAuthorizer
{
    /// <inheritdoc/>
    public bool CanPublish(ClientIdentity client, string topicName) => true;

    /// <inheritdoc/>
    public bool CanSubscribe(ClientIdentity client, string topicFilter) => true;

    /// <inheritdoc/>
    public bool CanReceive(ClientIdentity client, string topicName) => true;
}

namespace IoTPE.Broker.Security;

/// <summary>
/// Decides what a client may publish, subscribe to and receive. Called under the broker lock on
/// every PUBLISH, SUBSCRIBE and delivery, so answers must be quick (in-memory lookups).
/// Receiving is checked at delivery time as well as at subscribe time, so a revoked right stops
/// delivery at once, also on existing subscriptions.
/// </summary>
public interface IAuthorizer
{
    /// <summary>May <paramref name="client"/> publish to <paramref name="topicName"/>?</summary>
    bool CanPublish(ClientIdentity client, string topicName);

    /// <summary>May <paramref name="client"/> subscribe to <paramref name="topicFilter"/> (without any <c>$share/&lt;name&gt;/</c> prefix)?</summary>
    bool CanSubscribe(ClientIdentity client, string topicFilter);

    /// <summary>May <paramref name="client"/> receive a message published to <paramref name="topicName"/>?</summary>
    bool CanReceive(ClientIdentity client, string topicName);
}

using IoTPE.Broker.Security;
using IoTPE.Mqtt;

namespace IoTPE.Broker;

/// <summary>
/// Sees every PUBLISH a client makes, after authorization and before routing, and may refuse it.
/// Called under the broker lock, so it must be quick; work that takes time belongs in an internal
/// client (see <see cref="Broker.ConnectInternalClient"/>), whose deliveries are durable.
/// </summary>
public interface IMessageInterceptor
{
    /// <summary>Returns <see cref="ReasonCode.Success"/> to route the message, or the reason to refuse it with.</summary>
    ReasonCode OnPublish(ClientIdentity publisher, ApplicationMessage message);
}

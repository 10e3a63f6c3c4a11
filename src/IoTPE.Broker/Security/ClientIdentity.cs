using System.Net;

namespace IoTPE.Broker.Security;

/// <summary>Who a connected client is, as the authorizer and the interceptor see it.</summary>
/// <param name="ClientId">The MQTT client identifier (possibly assigned by the broker).</param>
/// <param name="UserName">The authenticated account, or null for an anonymous client.</param>
/// <param name="RemoteEndPoint">Where the client connects from, when it is a network client.</param>
/// <param name="Listener">The name of the listener it connected through (e.g. <c>mqtt</c>, <c>mqtts</c>, <c>ws</c>), or <c>internal</c>.</param>
public sealed record ClientIdentity(string ClientId, string? UserName, EndPoint? RemoteEndPoint, string Listener)
{
    /// <summary>The listener name of in-process clients (<see cref="Broker.ConnectInternalClient"/>).</summary>
    public const string InternalListener = "internal";

    /// <summary>Client identifiers reserved for in-process clients; network clients cannot use them.</summary>
    public const string InternalClientIdPrefix = "$iotpe/";

    /// <summary>True when the client did not authenticate as an account.</summary>
    public bool IsAnonymous => UserName is null;

    /// <summary>True for an in-process client of the broker (the engine, the bridge): trusted, not authorized per topic.</summary>
    public bool IsInternal => RemoteEndPoint is null && ClientId.StartsWith(InternalClientIdPrefix, StringComparison.Ordinal);
}

using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Client.Logging;

/// <summary>The client's log messages (source-generated: no boxing or formatting unless the level is enabled).</summary>
internal static partial class ClientLog
{
    [LoggerMessage(1, LogLevel.Information, "Connected to {Host}:{Port} (MQTT {Version}, session present: {SessionPresent})")]
    public static partial void Connected(ILogger logger, string host, int port, MqttProtocolVersion version, bool sessionPresent);

    [LoggerMessage(2, LogLevel.Warning, "Cannot connect to {Host}:{Port}; retrying in {Delay}")]
    public static partial void ConnectFailed(ILogger logger, Exception exception, string host, int port, TimeSpan delay);

    [LoggerMessage(3, LogLevel.Warning, "Connection to the broker lost")]
    public static partial void ConnectionLost(ILogger logger, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "The broker disconnected this client: {ReasonCode} {ReasonString}")]
    public static partial void ServerDisconnected(ILogger logger, ReasonCode reasonCode, string reasonString);

    [LoggerMessage(5, LogLevel.Warning, "The broker has no session for this client: {Count} received QoS 2 message(s) are handled without waiting for PUBREL, and subscriptions are renewed")]
    public static partial void SessionLost(ILogger logger, int count);

    [LoggerMessage(6, LogLevel.Error, "A ConnectionStateChanged handler failed")]
    public static partial void ConnectionStateHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(10, LogLevel.Warning, "The broker refused a publish to {Topic}: {ReasonCode}")]
    public static partial void PublishRefused(ILogger logger, string topic, ReasonCode reasonCode);

    [LoggerMessage(11, LogLevel.Warning, "The broker refused the subscription to {Filter}: {ReasonCode}")]
    public static partial void SubscribeRefused(ILogger logger, string filter, ReasonCode reasonCode);

    [LoggerMessage(20, LogLevel.Warning, "Handler for {Topic} failed (attempt {Attempt}); retrying in {Delay}")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string topic, int attempt, TimeSpan delay);

    [LoggerMessage(21, LogLevel.Error, "Dead letter on {Topic}: {Reason} after {Attempts} attempt(s): {Error}")]
    public static partial void DeadLettered(ILogger logger, string topic, DeadLetterReason reason, int attempts, string error);

    [LoggerMessage(22, LogLevel.Error, "The dead-letter handler failed for a message on {Topic}")]
    public static partial void DeadLetterHandlerFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(23, LogLevel.Debug, "Dropped a message on {Topic}: its subscription was removed")]
    public static partial void UnsubscribedMessageDropped(ILogger logger, string topic);

    [LoggerMessage(30, LogLevel.Warning, "Ignored a command message on {Topic}: {Problem}")]
    public static partial void CommandMessageInvalid(ILogger logger, string topic, string problem);

    [LoggerMessage(40, LogLevel.Error, "Writing the client's state file failed")]
    public static partial void StoreWriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(41, LogLevel.Error, "Committing to the client's state file failed")]
    public static partial void StoreCommitFailed(ILogger logger, Exception exception);

    [LoggerMessage(42, LogLevel.Error, "A state file callback failed")]
    public static partial void StoreCallbackFailed(ILogger logger, Exception exception);
}

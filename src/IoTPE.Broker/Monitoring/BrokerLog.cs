using System.Net;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Monitoring;

/// <summary>The broker's log lines. Every refusal names its reason code, so an operator can tell why a client was turned away.</summary>
internal static partial class BrokerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Listening on {EndPoint} ({Listener}, {Protocol})")]
    public static partial void Listening(this ILogger logger, EndPoint endPoint, string listener, string protocol);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Client {ClientId} connected from {EndPoint} as {UserName} (MQTT {Version}, {Start}, {Session})")]
    public static partial void ClientConnected(this ILogger logger, string clientId, EndPoint? endPoint, string userName, string version, string start, string session);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Refused connection from {EndPoint} (client {ClientId}): {ReasonCode} - {Reason}")]
    public static partial void ConnectionRefused(this ILogger logger, EndPoint? endPoint, string clientId, ReasonCode reasonCode, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Client {ClientId} disconnected: {Reason}")]
    public static partial void ClientDisconnected(this ILogger logger, string clientId, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Disconnecting client {ClientId} from {EndPoint}: {ReasonCode} - {Reason}")]
    public static partial void ProtocolViolation(this ILogger logger, string clientId, EndPoint? endPoint, ReasonCode reasonCode, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Refused PUBLISH from {ClientId} to '{Topic}': {ReasonCode} - {Reason}")]
    public static partial void PublishRefused(this ILogger logger, string clientId, string topic, ReasonCode reasonCode, string reason);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Refused SUBSCRIBE from {ClientId} to '{TopicFilter}': {ReasonCode} - {Reason}")]
    public static partial void SubscribeRefused(this ILogger logger, string clientId, string topicFilter, ReasonCode reasonCode, string reason);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Dropped a message for {ClientId} on '{Topic}': {Reason} ({Dropped} dropped for this session so far)")]
    public static partial void MessageDropped(this ILogger logger, string clientId, string topic, string reason, long dropped);

    [LoggerMessage(EventId = 9, Level = LogLevel.Error, Message = "The store could not commit; refusing the affected publishes until it recovers")]
    public static partial void StoreCommitFailed(this ILogger logger);

    [LoggerMessage(EventId = 65, Level = LogLevel.Error, Message = "The store could not read back what {ClientId} is due (its spilled queue or a message's payload); the deliveries wait and reading is tried again every second")]
    public static partial void StoredReadFailed(this ILogger logger, string clientId, Exception exception);

    [LoggerMessage(EventId = 66, Level = LogLevel.Information, Message = "The store reads queued deliveries again")]
    public static partial void StoredReadRecovered(this ILogger logger);

    [LoggerMessage(EventId = 67, Level = LogLevel.Error, Message = "Internal error in the loop that serves plain-TCP connections")]
    public static partial void SocketEventLoopFailed(this ILogger logger, Exception error);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Session {ClientId} expired")]
    public static partial void SessionExpired(this ILogger logger, string clientId);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Resumed {Sessions} persistent sessions, {Deliveries} queued deliveries and {Retained} retained messages from the store")]
    public static partial void StateLoaded(this ILogger logger, int sessions, int deliveries, int retained);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "Connection from {EndPoint} failed: {Reason}")]
    public static partial void ConnectionFailed(this ILogger logger, EndPoint? endPoint, string reason);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Refused connection from {EndPoint}: {Reason}")]
    public static partial void ConnectionRejected(this ILogger logger, EndPoint? endPoint, string reason);

    [LoggerMessage(EventId = 14, Level = LogLevel.Error, Message = "Internal error on the connection of {ClientId} from {EndPoint}; the connection is closed")]
    public static partial void ConnectionInternalError(this ILogger logger, string clientId, EndPoint? endPoint, Exception error);

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "{Count} connections were still closing after {Grace}; the broker stops anyway")]
    public static partial void ShutdownConnectionsLingering(this ILogger logger, int count, TimeSpan grace);

    [LoggerMessage(EventId = 60, Level = LogLevel.Warning, Message = "Refused the retained message of {ClientId} on '{Topic}': 0x97 Quota exceeded - the retained messages of its namespace would exceed their quota")]
    public static partial void RetainedQuotaExceeded(this ILogger logger, string clientId, string topic);

    [LoggerMessage(EventId = 61, Level = LogLevel.Information, Message = "Removed the data of {UserName}: {Sessions} sessions and {Retained} retained messages under '{Topic}'")]
    public static partial void ClientDataRemoved(this ILogger logger, string userName, int sessions, int retained, string topic);

    [LoggerMessage(EventId = 62, Level = LogLevel.Warning, Message = "Disk reserve reached: {Available} bytes free for the data folder, below the reserve of {Reserve} (storage.diskReserveBytes); new data from accounts is refused (0x97), control topics keep working")]
    public static partial void DiskReserveEntered(this ILogger logger, long available, long reserve);

    [LoggerMessage(EventId = 63, Level = LogLevel.Error, Message = "Disk floor reached: {Available} bytes free for the data folder, below the floor of {Floor} (an eighth of the reserve of {Reserve}); every new write is refused, deletes go on")]
    public static partial void DiskFloorReached(this ILogger logger, long available, long floor, long reserve);

    [LoggerMessage(EventId = 64, Level = LogLevel.Information, Message = "Disk reserve left: {Available} bytes free for the data folder, above the reserve of {Reserve}; new data is accepted again")]
    public static partial void DiskReserveLeft(this ILogger logger, long available, long reserve);
}

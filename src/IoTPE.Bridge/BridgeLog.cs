using Microsoft.Extensions.Logging;

namespace IoTPE.Bridge;

/// <summary>The bridge's log lines: every connect, disconnect (with its reason) and refusal at the bound.</summary>
internal static partial class BridgeLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Bridge {Name}: connected to {Host}:{Port} as {ClientId} (session present: {SessionPresent})")]
    public static partial void BridgeConnected(this ILogger logger, string name, string host, int port, string clientId, bool sessionPresent);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Bridge {Name}: not connected to {Host}:{Port}: {Reason}; next attempt in {NextAttempt}")]
    public static partial void BridgeDisconnected(this ILogger logger, string name, string host, int port, string reason, TimeSpan? nextAttempt);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Bridge {Name}: queue bound reached ({Messages} messages, {Bytes} bytes; limits {MaxMessages} messages, {MaxBytes} bytes): QoS 1/2 publishers are refused, {Refused} so far")]
    public static partial void BridgeBoundReached(this ILogger logger, string name, long messages, long bytes, long maxMessages, long maxBytes, long refused);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Bridge {Name}: the remote refused '{Topic}': {Reason}; the message is dropped")]
    public static partial void BridgeRemoteRefused(this ILogger logger, string name, string topic, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Bridge {Name}: '{Topic}' from the remote not published locally ({Outcome}); the remote sends it again later")]
    public static partial void BridgeLocalRefused(this ILogger logger, string name, string topic, string outcome);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Bridge {Name}: forwarding {Forward} to {Host}:{Port}, receiving {Receive}; {Queued} messages queued")]
    public static partial void BridgeStarted(this ILogger logger, string name, string forward, string host, int port, string receive, long queued);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Bridge {Name}: unsubscribed '{Filter}' at the remote (no longer a receive filter)")]
    public static partial void BridgeRemoteFilterRemoved(this ILogger logger, string name, string filter);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Bridge {Name}: '{Filter}' is no longer a forward filter; the local session is unsubscribed from it (messages already queued are still forwarded)")]
    public static partial void BridgeLocalFilterRemoved(this ILogger logger, string name, string filter);
}

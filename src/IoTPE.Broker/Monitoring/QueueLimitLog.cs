using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Monitoring;

/// <summary>Log lines of the queue limits: publishes refused because a queue or an account's queue quota is full.</summary>
internal static partial class QueueLimitLog
{
    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "Account {Account} has {QueuedBytes} bytes queued for its sessions (quota {QuotaBytes}, broker.maxQueuedBytesPerAccount): refused a QoS 1/2 message on '{Topic}' ({Refusals} refused so far)")]
    public static partial void AccountQueueQuotaHit(this ILogger logger, string account, long queuedBytes, long quotaBytes, string topic, long refusals);

    [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Refused a QoS 1/2 message on '{Topic}': the queue of session {ClientId} is full ({Queued} messages, broker.maxQueuedMessages); the publisher sends it again ({Refusals} refused so far)")]
    public static partial void SessionQueueFullRefused(this ILogger logger, string clientId, string topic, int queued, long refusals);
}

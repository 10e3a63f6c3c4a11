using Microsoft.Extensions.Logging;

namespace IoTPE.Engine.Scripts;

/// <summary>The log lines of the engine's run queues: refusals, the hop limit and quarantine.</summary>
internal static partial class RunQueueLog
{
    [LoggerMessage(EventId = 230, Level = LogLevel.Warning, Message = "Refused a run request of {Account} on '{Topic}': its run queue holds {Queued} requests (engine.maxQueuedRunsPerAccount); refused so far: {Refused}")]
    public static partial void RunQueueFull(this ILogger logger, string account, string topic, int queued, long refused);

    [LoggerMessage(EventId = 231, Level = LogLevel.Warning, Message = "{Account}/{Script}: publish to '{Topic}' refused: the run it would start is {Hops} hops from a client's request (engine.maxRunHops {Limit})")]
    public static partial void RunHopLimit(this ILogger logger, string account, string script, string topic, int hops, int limit);

    [LoggerMessage(EventId = 232, Level = LogLevel.Error, Message = "Quarantined the run request on '{Topic}': it was running when the process died twice; it will not run again")]
    public static partial void RunQuarantined(this ILogger logger, string topic);

    [LoggerMessage(EventId = 233, Level = LogLevel.Error, Message = "Could not record the start of a recovered run on '{Topic}'")]
    public static partial void RunAttemptNotRecorded(this ILogger logger, string topic, Exception error);
}

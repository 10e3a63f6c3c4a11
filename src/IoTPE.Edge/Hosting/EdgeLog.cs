using Microsoft.Extensions.Logging;

namespace IoTPE.Edge.Hosting;

/// <summary>The edge host's own log lines.</summary>
internal static partial class EdgeLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "iotpe {Version} started: data in {DataFolder} (sync {Sync}), anonymous clients {Anonymous}")]
    public static partial void Started(this ILogger logger, string version, string dataFolder, string sync, string anonymous);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Stopping ({Signal})")]
    public static partial void Stopping(this ILogger logger, string signal);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Stopped")]
    public static partial void Stopped(this ILogger logger);

    [LoggerMessage(EventId = 103, Level = LogLevel.Error, Message = "Store: {Message}")]
    public static partial void StoreMessage(this ILogger logger, string message);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "gpio: simulated chips driven from {Feed} ({Variable} is set: for tests only)")]
    public static partial void GpioSimulated(this ILogger logger, string feed, string variable);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "{Message}; the message threads use every core")]
    public static partial void CorePackingStopped(this ILogger logger, string message);
}

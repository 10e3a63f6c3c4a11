using Microsoft.Extensions.Logging;

namespace IoTPE.Engine;

/// <summary>The engine's log lines.</summary>
internal static partial class EngineLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "{Owner}: {Action} {Outcome}")]
    public static partial void ControlHandled(this ILogger logger, string owner, string action, string outcome);

    [LoggerMessage(EventId = 201, Level = LogLevel.Error, Message = "Control request of {Owner} failed: {Error}")]
    public static partial void ControlFailed(this ILogger logger, string owner, string error);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Accounts reloaded: {Accounts} accounts")]
    public static partial void AccountsReloaded(this ILogger logger, int accounts);
}

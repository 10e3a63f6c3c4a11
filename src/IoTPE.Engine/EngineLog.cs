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

    [LoggerMessage(EventId = 203, Message = "script {Account}/{Script}: {Text}")]
    public static partial void ScriptLog(this ILogger logger, LogLevel level, string account, string script, string text);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "script {Account}/{Script} failed ({Status}): {Error}")]
    public static partial void ScriptFailed(this ILogger logger, string account, string script, string status, string error);

    [LoggerMessage(EventId = 205, Level = LogLevel.Error, Message = "script {Account}/{Script}: the host failed: {Error}")]
    public static partial void ScriptHostFailed(this ILogger logger, string account, string script, string error);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "{Account}: {Request} {Outcome}")]
    public static partial void ScriptManaged(this ILogger logger, string account, string request, string outcome);

    [LoggerMessage(EventId = 207, Level = LogLevel.Error, Message = "Reading the engine database failed; retrying")]
    public static partial void StoreReadFailed(this ILogger logger, Exception error);

    [LoggerMessage(EventId = 212, Level = LogLevel.Error, Message = "A periodic task failed; it runs again at the next tick")]
    public static partial void TickFailed(this ILogger logger, Exception error);

    [LoggerMessage(EventId = 208, Level = LogLevel.Error, Message = "Could not start the run for {Topic} (attempt {Attempt})")]
    public static partial void DispatchFailed(this ILogger logger, string topic, int attempt, Exception error);

    [LoggerMessage(EventId = 209, Level = LogLevel.Warning, Message = "{Account}: quota reached: {Problem}")]
    public static partial void QuotaExceeded(this ILogger logger, string account, string problem);

    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "Account {Account} removed: {Sessions} sessions, {Retained} retained messages, its database and its kv entries and scripts are gone")]
    public static partial void AccountRemovalFinished(this ILogger logger, string account, int sessions, int retained);

    [LoggerMessage(EventId = 211, Level = LogLevel.Error, Message = "Removing the data of account {Account} failed; retrying on the next change")]
    public static partial void AccountRemovalFailed(this ILogger logger, string account, Exception error);

    [LoggerMessage(EventId = 240, Level = LogLevel.Warning, Message = "{Account}: edge of pin {Pin} dropped: {Limit} onEdge runs already waiting or running (script {Script} slower than the pin's edges?)")]
    public static partial void PinEdgeDropped(this ILogger logger, string account, string pin, string script, int limit);
}

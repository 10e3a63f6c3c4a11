using Microsoft.Extensions.Logging;

namespace IoTPE.Gpio;

/// <summary>The GPIO pins' log lines.</summary>
internal static partial class GpioLog
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Error, Message = "gpio: {Cause}; pins in the error state: {Pins}")]
    public static partial void PinsFailed(this ILogger logger, string cause, string pins);

    [LoggerMessage(EventId = 601, Level = LogLevel.Information, Message = "gpio: {Count} pins ready ({Pins})")]
    public static partial void PinsReady(this ILogger logger, int count, string pins);

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "gpio: pin {Account}/{Name}: {Coalesced} edges beyond {Limit} per second coalesced")]
    public static partial void EdgesCoalesced(this ILogger logger, string account, string name, int coalesced, int limit);

    [LoggerMessage(EventId = 603, Level = LogLevel.Warning, Message = "gpio: outputs could not go to their safe value: {Error}")]
    public static partial void SafeValueFailed(this ILogger logger, string error);

    [LoggerMessage(EventId = 604, Level = LogLevel.Information, Message = "gpio: {Account}/{Name} set to {Value} refused: {Reason}")]
    public static partial void SetRefused(this ILogger logger, string account, string name, string value, string reason);

    [LoggerMessage(EventId = 605, Level = LogLevel.Error, Message = "gpio: handling the state of {Account}/{Name} failed")]
    public static partial void ChangeHandlerFailed(this ILogger logger, string account, string name, Exception error);
}

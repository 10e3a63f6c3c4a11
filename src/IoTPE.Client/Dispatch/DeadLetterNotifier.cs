using IoTPE.Client.Logging;
using Microsoft.Extensions.Logging;

namespace IoTPE.Client.Dispatch;

/// <summary>Tells the log and the application's <see cref="MqttClientOptions.DeadLetterHandler"/> about a message given up on.</summary>
internal sealed class DeadLetterNotifier
{
    private readonly Func<DeadLetter, CancellationToken, ValueTask>? _handler;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;

    public DeadLetterNotifier(MqttClientOptions options, ILogger logger, CancellationToken stopping)
    {
        _handler = options.DeadLetterHandler;
        _logger = logger;
        _stopping = stopping;
    }

    /// <summary>Logs the dead letter and runs the application's handler in the background (its errors are logged).</summary>
    public void Notify(DeadLetter deadLetter)
    {
        ClientLog.DeadLettered(_logger, deadLetter.Message.Topic, deadLetter.Reason, deadLetter.Attempts, deadLetter.Error);
        if (_handler is not null)
        {
            _ = RunHandlerAsync(deadLetter);
        }
    }

    private async Task RunHandlerAsync(DeadLetter deadLetter)
    {
        try
        {
            await Task.Yield();
            await _handler!(deadLetter, _stopping).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ClientLog.DeadLetterHandlerFailed(_logger, ex, deadLetter.Message.Topic);
        }
    }
}

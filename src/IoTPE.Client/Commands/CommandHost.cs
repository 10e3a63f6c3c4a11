using System.Text.Json;
using IoTPE.Client.Dispatch;
using IoTPE.Client.Logging;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Client.Commands;

/// <summary>
/// The callee side of commands: runs a registered handler for each call and turns its outcome into the reply — a
/// resolve, or a reject for a thrown error or a cancellation — which the dispatcher commits together with the end of
/// the call message. Keeps the running calls by message identifier so that a cancellation reaches the handler's
/// token, and remembers recent cancellations of calls not started yet.
/// </summary>
internal sealed class CommandHost
{
    private const int RememberedCancellations = 1024;

    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);
    private readonly HashSet<string> _cancelled = new(StringComparer.Ordinal);
    private readonly Queue<string> _cancelledOrder = new();

    public CommandHost(ILogger logger) => _logger = logger;

    /// <summary>The subscription handler for calls to a command served by <paramref name="handler"/>.</summary>
    public DeliveryHandler CreateCallHandler(Func<JsonElement, CancellationToken, ValueTask<JsonElement>> handler) =>
        async (message, stopping) =>
        {
            if (!CommandWire.TryReadCall(message.Payload, out string messageId, out JsonElement payload, out string problem))
            {
                ClientLog.CommandMessageInvalid(_logger, message.Topic, problem);
                return null; // Nothing to answer: acknowledged and dropped.
            }

            using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            lock (_gate)
            {
                if (_cancelled.Remove(messageId))
                {
                    return [CommandWire.Reject(message.Topic, messageId, Cancelled())];
                }

                _running[messageId] = cancellation;
            }

            try
            {
                JsonElement result = await handler(payload, cancellation.Token).ConfigureAwait(false);
                return [CommandWire.Resolve(message.Topic, messageId, result)];
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                throw; // The client is stopping: the call is run again by the next run.
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                return [CommandWire.Reject(message.Topic, messageId, Cancelled())];
            }
            catch (CommandRejectedException ex)
            {
                return [CommandWire.Reject(message.Topic, messageId, new CommandError(ex.Message, ex.Code, ex.Details))];
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                return [CommandWire.Reject(message.Topic, messageId, new CommandError(ex.Message))];
            }
            finally
            {
                lock (_gate)
                {
                    if (_running.TryGetValue(messageId, out CancellationTokenSource? current) && current == cancellation)
                    {
                        _running.Remove(messageId);
                    }
                }
            }
        };

    /// <summary>The subscription handler for a command's cancellations.</summary>
    public DeliveryHandler CreateCancelHandler() =>
        async (message, _) =>
        {
            if (!CommandWire.TryReadCancel(message.Payload, out string messageId, out string problem))
            {
                ClientLog.CommandMessageInvalid(_logger, message.Topic, problem);
                return null;
            }

            CancellationTokenSource? running;
            lock (_gate)
            {
                if (!_running.TryGetValue(messageId, out running))
                {
                    Remember(messageId);
                }
            }

            if (running is not null)
            {
                try
                {
                    await running.CancelAsync().ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                    // The call finished meanwhile.
                }
            }

            return null;
        };

    private static CommandError Cancelled() => new(IoTPE.Commands.CommandWireFormat.CancelledMessage, CommandError.CancelledCode);

    /// <summary>Remembers a cancellation that arrived before its call (or after it ended), forgetting the oldest beyond a bound.</summary>
    private void Remember(string messageId)
    {
        if (!_cancelled.Add(messageId))
        {
            return;
        }

        _cancelledOrder.Enqueue(messageId);
        while (_cancelledOrder.Count > RememberedCancellations)
        {
            _cancelled.Remove(_cancelledOrder.Dequeue());
        }
    }
}

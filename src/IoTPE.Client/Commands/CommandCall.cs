namespace IoTPE.Client;

/// <summary>
/// A command call this client made (<see cref="MqttClient.CallAsync(string, System.Text.Json.JsonElement, CancellationToken)"/>):
/// its identifier, and the means to cancel it. The result arrives through
/// <see cref="MqttClient.SubscribeCommandResultsAsync"/>, even if the callee answers while this client is offline.
/// After a restart, cancel a stored call with <see cref="MqttClient.CancelAsync(string, string, CancellationToken)"/>.
/// </summary>
public sealed class CommandCall
{
    private readonly MqttClient _client;

    internal CommandCall(MqttClient client, string topic, string messageId, Task delivered)
    {
        _client = client;
        Topic = topic;
        MessageId = messageId;
        Delivered = delivered;
    }

    /// <summary>The command's topic.</summary>
    public string Topic { get; }

    /// <summary>The call's unique identifier: its result carries it. It may be stored and matched after a restart.</summary>
    public string MessageId { get; }

    /// <summary>Completes when the broker took responsibility for the call (PUBCOMP); cancelled if the client is disposed first (the call is still sent later).</summary>
    public Task Delivered { get; }

    /// <summary>
    /// Asks the callee to cancel the call: publishes <c>{"messageId":…}</c> to <c>&lt;topic&gt;/cancel</c> (QoS 2).
    /// A running handler sees its cancellation token cancelled; a call not started yet is rejected without running.
    /// A call that already finished is not affected. Completes when the broker took the cancellation.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (the cancellation is still sent once accepted).</param>
    public Task CancelAsync(CancellationToken cancellationToken = default) => _client.CancelAsync(Topic, MessageId, cancellationToken);
}

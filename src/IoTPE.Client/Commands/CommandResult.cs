using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace IoTPE.Client;

/// <summary>
/// The outcome of a command call, as received on <c>&lt;topic&gt;/resolve</c> or <c>&lt;topic&gt;/reject</c>
/// (<see cref="MqttClient.SubscribeCommandResultsAsync"/>). Results reach every client subscribed to the command's
/// results, so match <see cref="MessageId"/> against the calls you made.
/// </summary>
public sealed class CommandResult
{
    internal CommandResult(string topic, string messageId, JsonElement result, CommandError? error)
    {
        Topic = topic;
        MessageId = messageId;
        Result = result;
        Error = error;
    }

    /// <summary>The command's topic (the call topic, without <c>/resolve</c> or <c>/reject</c>).</summary>
    public string Topic { get; }

    /// <summary>The call's identifier, as returned by <see cref="MqttClient.CallAsync(string, JsonElement, CancellationToken)"/>.</summary>
    public string MessageId { get; }

    /// <summary>Whether the command resolved (else <see cref="Error"/> says why it was rejected).</summary>
    public bool IsResolved => Error is null;

    /// <summary>The handler's result when resolved (JSON <c>null</c> when it returned nothing); undefined when rejected.</summary>
    public JsonElement Result { get; }

    /// <summary>Why the command was rejected, or null when it resolved.</summary>
    public CommandError? Error { get; }

    /// <summary>The result deserialized with source-generated metadata.</summary>
    /// <typeparam name="T">The result's type.</typeparam>
    /// <param name="jsonTypeInfo">The type's metadata.</param>
    /// <exception cref="InvalidOperationException">The command was rejected.</exception>
    public T? GetResult<T>(JsonTypeInfo<T> jsonTypeInfo)
    {
        if (Error is not null)
        {
            throw new InvalidOperationException($"The command was rejected: {Error.Message}");
        }

        return Result.Deserialize(jsonTypeInfo);
    }
}

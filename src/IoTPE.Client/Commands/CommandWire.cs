using System.Text;
using System.Text.Json;
using IoTPE.Commands;
using IoTPE.Mqtt;

namespace IoTPE.Client.Commands;

/// <summary>
/// Command messages as this client sends and reads them: the payloads and topic suffixes of the shared
/// <see cref="CommandWireFormat"/> (docs/commands.md), carried as QoS 2 PUBLISH packets that on MQTT 5.0 also carry
/// Content Type <c>application/json</c>, Payload Format Indicator 1 and the call's identifier as Correlation Data,
/// and for a call its resolve topic as Response Topic.
/// </summary>
internal static class CommandWire
{
    public const string ResolveSuffix = CommandWireFormat.ResolveSuffix;
    public const string RejectSuffix = CommandWireFormat.RejectSuffix;
    public const string CancelSuffix = CommandWireFormat.CancelSuffix;
    public const string ContentType = CommandWireFormat.ContentType;

    /// <summary>Checks a command topic: a valid topic filter without '#' (which would also match its own result topics), not itself a result or cancel topic.</summary>
    public static void ValidateTopic(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (!TopicFilter.IsValid(topic) || topic.Contains('#', StringComparison.Ordinal) || SharedSubscription.IsShared(topic) ||
            topic.EndsWith(ResolveSuffix, StringComparison.Ordinal) || topic.EndsWith(RejectSuffix, StringComparison.Ordinal) ||
            topic.EndsWith(CancelSuffix, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"'{topic}' is not a valid command topic: a topic name, or a filter with '+' levels (no '#', no $share), not ending in /resolve, /reject or /cancel.",
                nameof(topic));
        }
    }

    /// <summary>A call on the command topic.</summary>
    public static PublishPacket Call(string topic, string messageId, Action<Utf8JsonWriter> writePayload) =>
        Message(topic, messageId, topic + ResolveSuffix, CommandWireFormat.Call(messageId, writePayload));

    /// <summary>A resolve on <c>&lt;call topic&gt;/resolve</c>.</summary>
    public static PublishPacket Resolve(string callTopic, string messageId, JsonElement result) =>
        Message(callTopic + ResolveSuffix, messageId, null, CommandWireFormat.Resolve(messageId, writer => WriteValue(writer, result)));

    /// <summary>A reject on <c>&lt;call topic&gt;/reject</c>.</summary>
    public static PublishPacket Reject(string callTopic, string messageId, CommandError error) =>
        Message(callTopic + RejectSuffix, messageId, null, CommandWireFormat.Reject(messageId, error.Message, error.Code,
            error.Details is { } details ? writer => WriteValue(writer, details) : null));

    /// <summary>A cancellation on <c>&lt;call topic&gt;/cancel</c>.</summary>
    public static PublishPacket Cancel(string callTopic, string messageId) =>
        Message(callTopic + CancelSuffix, messageId, null, CommandWireFormat.Cancel(messageId));

    /// <summary>Reads a call; false (with the problem) when the payload is not one.</summary>
    public static bool TryReadCall(ReadOnlyMemory<byte> json, out string messageId, out JsonElement payload, out string problem) =>
        CommandWireFormat.TryReadCall(json, out messageId, out payload, out problem);

    /// <summary>Reads a cancellation's message identifier.</summary>
    public static bool TryReadCancel(ReadOnlyMemory<byte> json, out string messageId, out string problem) =>
        CommandWireFormat.TryReadCancel(json, out messageId, out problem);

    /// <summary>Reads a resolve or reject (by <paramref name="rejected"/>) of the command on <paramref name="commandTopic"/>.</summary>
    public static bool TryReadResult(string commandTopic, bool rejected, ReadOnlyMemory<byte> json, out CommandResult? result, out string problem)
    {
        result = null;
        if (!rejected)
        {
            if (!CommandWireFormat.TryReadResolve(json, out string resolvedId, out JsonElement value, out problem))
            {
                return false;
            }
            result = new CommandResult(commandTopic, resolvedId, value, null);
            return true;
        }
        if (!CommandWireFormat.TryReadReject(json, out string messageId, out string message, out string? code, out JsonElement? details, out problem))
        {
            return false;
        }
        result = new CommandResult(commandTopic, messageId, default, new CommandError(message, code, details));
        return true;
    }

    private static void WriteValue(Utf8JsonWriter writer, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Undefined)
        {
            writer.WriteNullValue();
        }
        else
        {
            value.WriteTo(writer);
        }
    }

    private static PublishPacket Message(string topic, string messageId, string? responseTopic, byte[] payload) =>
        new(topic, payload)
        {
            QoS = QualityOfService.ExactlyOnce,
            Properties = new PublishProperties
            {
                ContentType = ContentType,
                PayloadFormatIndicator = PayloadFormatIndicator.Utf8,
                CorrelationData = Encoding.UTF8.GetBytes(messageId),
                ResponseTopic = responseTopic,
            },
        };
}

using System.Buffers;
using System.Text;
using System.Text.Json;
using IoTPE.Mqtt;

namespace IoTPE.Client.Commands;

/// <summary>
/// The command wire format (docs/commands.md): topics and JSON payloads of calls, results and cancellations, written
/// with <see cref="Utf8JsonWriter"/> and read with <see cref="JsonDocument"/> (no reflection). Every message is a QoS 2
/// PUBLISH; on MQTT 5.0 it also carries Content Type <c>application/json</c>, Payload Format Indicator 1 and the call's
/// identifier as Correlation Data, and a call names its resolve topic as Response Topic.
/// </summary>
internal static class CommandWire
{
    public const string ResolveSuffix = "/resolve";
    public const string RejectSuffix = "/reject";
    public const string CancelSuffix = "/cancel";
    public const string ContentType = "application/json";

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

    /// <summary>A call: <c>{"messageId":…,"payload":…}</c> on the command topic.</summary>
    public static PublishPacket Call(string topic, string messageId, Action<Utf8JsonWriter> writePayload) =>
        Message(topic, messageId, topic + ResolveSuffix, writer =>
        {
            writer.WriteString("messageId"u8, messageId);
            writer.WritePropertyName("payload"u8);
            writePayload(writer);
        });

    /// <summary>A resolve: <c>{"messageId":…,"result":…}</c> on <c>&lt;call topic&gt;/resolve</c>.</summary>
    public static PublishPacket Resolve(string callTopic, string messageId, JsonElement result) =>
        Message(callTopic + ResolveSuffix, messageId, null, writer =>
        {
            writer.WriteString("messageId"u8, messageId);
            writer.WritePropertyName("result"u8);
            WriteValue(writer, result);
        });

    /// <summary>A reject: <c>{"messageId":…,"error":{"message":…,"code":…,"details":…}}</c> on <c>&lt;call topic&gt;/reject</c>.</summary>
    public static PublishPacket Reject(string callTopic, string messageId, CommandError error) =>
        Message(callTopic + RejectSuffix, messageId, null, writer =>
        {
            writer.WriteString("messageId"u8, messageId);
            writer.WriteStartObject("error"u8);
            writer.WriteString("message"u8, error.Message);
            if (error.Code is not null)
            {
                writer.WriteString("code"u8, error.Code);
            }

            if (error.Details is { } details)
            {
                writer.WritePropertyName("details"u8);
                WriteValue(writer, details);
            }

            writer.WriteEndObject();
        });

    /// <summary>A cancellation: <c>{"messageId":…}</c> on <c>&lt;call topic&gt;/cancel</c>.</summary>
    public static PublishPacket Cancel(string callTopic, string messageId) =>
        Message(callTopic + CancelSuffix, messageId, null, writer => writer.WriteString("messageId"u8, messageId));

    /// <summary>Reads a call; false (with the problem) when the payload is not one.</summary>
    public static bool TryReadCall(ReadOnlyMemory<byte> json, out string messageId, out JsonElement payload, out string problem)
    {
        payload = default;
        if (!TryParse(json, out JsonElement root, out messageId, out problem))
        {
            return false;
        }

        payload = root.TryGetProperty("payload"u8, out JsonElement value) ? value : default;
        return true;
    }

    /// <summary>Reads a cancellation's message identifier.</summary>
    public static bool TryReadCancel(ReadOnlyMemory<byte> json, out string messageId, out string problem) =>
        TryParse(json, out _, out messageId, out problem);

    /// <summary>Reads a resolve or reject (by <paramref name="rejected"/>) of the command on <paramref name="commandTopic"/>.</summary>
    public static bool TryReadResult(string commandTopic, bool rejected, ReadOnlyMemory<byte> json, out CommandResult? result, out string problem)
    {
        result = null;
        if (!TryParse(json, out JsonElement root, out string messageId, out problem))
        {
            return false;
        }

        if (!rejected)
        {
            JsonElement value = root.TryGetProperty("result"u8, out JsonElement r) ? r : NullValue;
            result = new CommandResult(commandTopic, messageId, value, null);
            return true;
        }

        result = new CommandResult(commandTopic, messageId, default, ReadError(root));
        return true;
    }

    private static readonly JsonElement NullValue = JsonDocument.Parse("null"u8.ToArray()).RootElement.Clone();

    private static CommandError ReadError(JsonElement root)
    {
        if (!root.TryGetProperty("error"u8, out JsonElement error))
        {
            return new CommandError("The command was rejected.");
        }

        if (error.ValueKind == JsonValueKind.String)
        {
            return new CommandError(error.GetString()!);
        }

        if (error.ValueKind != JsonValueKind.Object)
        {
            return new CommandError(error.GetRawText(), null, error);
        }

        string message = error.TryGetProperty("message"u8, out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : error.GetRawText();
        string? code = error.TryGetProperty("code"u8, out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        JsonElement? details = error.TryGetProperty("details"u8, out JsonElement d) ? d : null;
        return new CommandError(message, code, details);
    }

    private static bool TryParse(ReadOnlyMemory<byte> json, out JsonElement root, out string messageId, out string problem)
    {
        root = default;
        messageId = string.Empty;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            problem = "the payload is not JSON: " + ex.Message;
            return false;
        }

        if (root.ValueKind != JsonValueKind.Object ||
            !root.TryGetProperty("messageId"u8, out JsonElement id) ||
            id.ValueKind != JsonValueKind.String ||
            string.IsNullOrEmpty(id.GetString()))
        {
            problem = "the payload is not an object with a string \"messageId\"";
            return false;
        }

        messageId = id.GetString()!;
        problem = string.Empty;
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

    private static PublishPacket Message(string topic, string messageId, string? responseTopic, Action<Utf8JsonWriter> writeMembers)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writeMembers(writer);
            writer.WriteEndObject();
        }

        return new PublishPacket(topic, buffer.WrittenMemory.ToArray())
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
}

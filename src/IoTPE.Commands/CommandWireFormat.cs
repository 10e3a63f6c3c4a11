using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace IoTPE.Commands;

/// <summary>
/// The command wire format (docs/commands.md), the one implementation IoTPE's client and the process
/// engine share. A call is <c>{"messageId":…,"payload":…}</c> on the command topic; it is answered with
/// <c>{"messageId":…,"result":…}</c> on <c>&lt;topic&gt;/resolve</c> or
/// <c>{"messageId":…,"error":{"message":…,"code":…,"details":…}}</c> on <c>&lt;topic&gt;/reject</c>, and
/// cancelled with <c>{"messageId":…}</c> on <c>&lt;topic&gt;/cancel</c>. Written with
/// <see cref="Utf8JsonWriter"/> and read with <see cref="JsonDocument"/> (no reflection). How the payloads
/// travel (QoS 2, Content Type, Correlation Data) is the sender's part.
/// </summary>
public static class CommandWireFormat
{
    /// <summary>The suffix of the topic a call is resolved on.</summary>
    public const string ResolveSuffix = "/resolve";

    /// <summary>The suffix of the topic a call is rejected on.</summary>
    public const string RejectSuffix = "/reject";

    /// <summary>The suffix of the topic a call is cancelled on.</summary>
    public const string CancelSuffix = "/cancel";

    /// <summary>The Content Type of every command message (MQTT 5.0, 3.3.2.3.9).</summary>
    public const string ContentType = "application/json";

    /// <summary>The <c>error.code</c> of a call rejected because it was cancelled.</summary>
    public const string CancelledCode = "cancelled";

    /// <summary>The <c>error.message</c> of a call rejected because it was cancelled.</summary>
    public const string CancelledMessage = "The call was cancelled.";

    // Non-ASCII text stays readable; the output is JSON, never embedded in HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly JsonElement NullValue = JsonDocument.Parse("null"u8.ToArray()).RootElement.Clone();

    /// <summary>A call's payload: <c>{"messageId":…,"payload":…}</c>; <paramref name="writePayload"/> writes one JSON value.</summary>
    public static byte[] Call(string messageId, Action<Utf8JsonWriter> writePayload)
    {
        ArgumentNullException.ThrowIfNull(writePayload);
        return Write(messageId, writer =>
        {
            writer.WritePropertyName("payload"u8);
            writePayload(writer);
        });
    }

    /// <summary>A resolve's payload: <c>{"messageId":…,"result":…}</c>; <paramref name="writeResult"/> writes one JSON value.</summary>
    public static byte[] Resolve(string messageId, Action<Utf8JsonWriter> writeResult)
    {
        ArgumentNullException.ThrowIfNull(writeResult);
        return Write(messageId, writer =>
        {
            writer.WritePropertyName("result"u8);
            writeResult(writer);
        });
    }

    /// <summary>
    /// A reject's payload: <c>{"messageId":…,"error":{"message":…,"code":…,"details":…}}</c>; <c>code</c> is left
    /// out when null, <c>details</c> when <paramref name="writeDetails"/> is null (it writes one JSON value).
    /// </summary>
    public static byte[] Reject(string messageId, string message, string? code, Action<Utf8JsonWriter>? writeDetails = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Write(messageId, writer =>
        {
            writer.WriteStartObject("error"u8);
            writer.WriteString("message"u8, message);
            if (code is not null)
            {
                writer.WriteString("code"u8, code);
            }
            if (writeDetails is not null)
            {
                writer.WritePropertyName("details"u8);
                writeDetails(writer);
            }
            writer.WriteEndObject();
        });
    }

    /// <summary>A cancellation's payload: <c>{"messageId":…}</c>.</summary>
    public static byte[] Cancel(string messageId) => Write(messageId, _ => { });

    /// <summary>
    /// Reads a call; <paramref name="payload"/> is detached, and <see cref="JsonValueKind.Undefined"/> when the call
    /// has none. False (with the problem) when it is not a call.
    /// </summary>
    public static bool TryReadCall(ReadOnlyMemory<byte> json, out string messageId, out JsonElement payload, out string problem)
    {
        payload = default;
        if (!TryReadObject(json, out JsonElement root, out messageId, out problem))
        {
            return false;
        }
        if (root.TryGetProperty("payload"u8, out JsonElement value))
        {
            payload = value;
        }
        return true;
    }

    /// <summary>Reads a cancellation's message identifier.</summary>
    public static bool TryReadCancel(ReadOnlyMemory<byte> json, out string messageId, out string problem) =>
        TryReadObject(json, out _, out messageId, out problem);

    /// <summary>Reads a resolve; a missing <c>result</c> reads as null.</summary>
    public static bool TryReadResolve(ReadOnlyMemory<byte> json, out string messageId, out JsonElement result, out string problem)
    {
        result = NullValue;
        if (!TryReadObject(json, out JsonElement root, out messageId, out problem))
        {
            return false;
        }
        if (root.TryGetProperty("result"u8, out JsonElement value))
        {
            result = value;
        }
        return true;
    }

    /// <summary>
    /// Reads a reject, leniently (other implementations answer too): an <c>error</c> that is a string is the
    /// message; one that is not an object, or an object without a string <c>message</c>, gives its JSON text as
    /// the message; a missing <c>error</c> gives a generic message.
    /// </summary>
    public static bool TryReadReject(ReadOnlyMemory<byte> json, out string messageId, out string message, out string? code, out JsonElement? details, out string problem)
    {
        message = "";
        code = null;
        details = null;
        if (!TryReadObject(json, out JsonElement root, out messageId, out problem))
        {
            return false;
        }
        if (!root.TryGetProperty("error"u8, out JsonElement error))
        {
            message = "The command was rejected.";
        }
        else if (error.ValueKind == JsonValueKind.String)
        {
            message = error.GetString()!;
        }
        else if (error.ValueKind != JsonValueKind.Object)
        {
            message = error.GetRawText();
            details = error;
        }
        else
        {
            message = error.TryGetProperty("message"u8, out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : error.GetRawText();
            code = error.TryGetProperty("code"u8, out JsonElement c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            details = error.TryGetProperty("details"u8, out JsonElement d) ? d : null;
        }
        return true;
    }

    // Every message is an object with a non-empty string messageId; the elements returned are detached.
    private static bool TryReadObject(ReadOnlyMemory<byte> json, out JsonElement root, out string messageId, out string problem)
    {
        root = default;
        messageId = string.Empty;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            problem = "the payload is not JSON: " + e.Message;
            return false;
        }
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("messageId"u8, out JsonElement id) ||
            id.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(id.GetString()))
        {
            problem = "the payload is not an object with a string \"messageId\"";
            return false;
        }
        messageId = id.GetString()!;
        problem = string.Empty;
        return true;
    }

    private static byte[] Write(string messageId, Action<Utf8JsonWriter> writeMembers)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("messageId"u8, messageId);
            writeMembers(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}

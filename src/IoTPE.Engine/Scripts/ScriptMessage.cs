using System.Buffers;
using System.Text;
using System.Text.Json;
using IoTPE.Broker;
using IoTPE.Scripting;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// The <c>message</c> a script receives, as JSON:
/// <code>
/// { "topic": "/acme/run/calc", "account": "acme", "script": "calc", "publisher": "other",
///   "clientId": "...", "payload": "{\"x\":1}", "json": {"x":1}, "payloadBase64": "eyJ4IjoxfQ==",
///   "qos": 1, "retain": false, "contentType": null, "responseTopic": null,
///   "correlationData": null, "correlationDataBase64": null, "userProperties": {"k": "v"} }
/// </code>
/// <c>payload</c> is the payload as UTF-8 text; <c>json</c> is the payload parsed, or null when it is
/// not JSON; <c>publisher</c> is the publishing account (null for anonymous clients and schedules).
/// A scheduled run gets <c>"topic": null</c> and <c>"schedule": {"everySeconds": N}</c>; a pin's
/// <c>onEdge</c> run <c>"topic": null</c> and <c>"gpio": {"name", "value", "edge", "timestamp"}</c>.
/// A run request's message goes to the heap as a record (<see cref="ForRun"/>), from which the heap
/// builds the same object without the JSON; commands, schedules and pin edges go as JSON.
/// </summary>
internal static class ScriptMessage
{
    // Only the script's own JSON parser reads this: escaping '"', '<', '&' and non-ASCII as \uXXXX
    // (the default, meant for HTML) made it decode a hex escape for every quote of a JSON payload
    // embedded as "payload" (issue 13: the message parse was the largest part of a small rule's run).
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The message of a run <paramref name="message"/> triggered, as a record the script heap turns
    /// into the same object <see cref="FromMessage"/>'s JSON gives, without the JSON in between.
    /// </summary>
    public static RunMessage ForRun(ApplicationMessage message, string account, string script) => new()
    {
        Topic = message.Topic,
        Account = account,
        Script = script,
        Publisher = message.PublisherUserName,
        ClientId = message.PublisherClientId,
        Payload = message.Payload,
        QoS = (int)message.QoS,
        Retain = message.Retain,
        ContentType = message.Properties?.ContentType,
        ResponseTopic = message.Properties?.ResponseTopic,
        // Typed null: a bare null here converts to an empty ReadOnlyMemory (through byte[]), not to no data.
        CorrelationData = message.Properties?.CorrelationData is { } correlation ? new ReadOnlyMemory<byte>(correlation) : (ReadOnlyMemory<byte>?)null,
        UserProperties = message.Properties?.UserProperties is { Count: > 0 } properties
            ? properties.Select(static p => KeyValuePair.Create(p.Name, p.Value)).ToArray()
            : [],
    };

    public static byte[] FromMessage(ApplicationMessage message, string account, string script, CommandCall? call = null)
    {
        Utf8JsonWriter json = Begin();
        json.WriteStartObject();
        json.WriteString("topic", message.Topic);
        json.WriteString("account", account);
        json.WriteString("script", script);
        WriteStringOrNull(json, "publisher", message.PublisherUserName);
        WriteStringOrNull(json, "clientId", message.PublisherClientId);
        ReadOnlySpan<byte> payload = message.Payload.Span;
        if (System.Text.Unicode.Utf8.IsValid(payload))
        {
            json.WriteString("payload", payload); // without a string in between
        }
        else
        {
            json.WriteString("payload", Encoding.UTF8.GetString(payload)); // malformed UTF-8 becomes U+FFFD
        }
        json.WritePropertyName("json");
        if (call is { } c)
        {
            // A command call: the script works on the call's payload; messageId identifies the call.
            c.Payload.WriteTo(json);
            json.WriteString("messageId", c.MessageId);
        }
        else
        {
            WriteJsonOrNull(json, payload);
        }
        json.WriteBase64String("payloadBase64", payload);
        json.WriteNumber("qos", (int)message.QoS);
        json.WriteBoolean("retain", message.Retain);
        WriteStringOrNull(json, "contentType", message.Properties?.ContentType);
        WriteStringOrNull(json, "responseTopic", message.Properties?.ResponseTopic);
        if (message.Properties?.CorrelationData is { } correlation)
        {
            json.WriteString("correlationData", Encoding.UTF8.GetString(correlation));
            json.WriteBase64String("correlationDataBase64", correlation);
        }
        else
        {
            json.WriteNull("correlationData");
            json.WriteNull("correlationDataBase64");
        }
        json.WriteStartObject("userProperties");
        foreach (Mqtt.UserProperty property in message.Properties?.UserProperties ?? [])
        {
            json.WriteString(property.Name, property.Value);
        }
        json.WriteEndObject();
        json.WriteEndObject();
        return Finish(json);
    }

    public static byte[] ForSchedule(string account, string script, int everySeconds)
    {
        Utf8JsonWriter json = Begin();
        WriteWithoutTrigger(json, account, script);
        json.WriteStartObject("schedule");
        json.WriteNumber("everySeconds", everySeconds);
        json.WriteEndObject();
        json.WriteStartObject("userProperties");
        json.WriteEndObject();
        json.WriteEndObject();
        return Finish(json);
    }

    /// <summary>
    /// The message of a pin's <c>onEdge</c> run: as a scheduled run's (<c>"topic": null</c>), with
    /// <c>"gpio": {"name", "value", "edge", "timestamp"}</c> (timestamp in ISO 8601).
    /// </summary>
    public static byte[] ForPinEdge(PinEdge edge)
    {
        Utf8JsonWriter json = Begin();
        WriteWithoutTrigger(json, edge.Account, edge.Script);
        json.WriteStartObject("gpio");
        json.WriteString("name", edge.Pin);
        json.WriteNumber("value", edge.Value);
        json.WriteString("edge", edge.Edge);
        json.WriteString("timestamp", edge.Timestamp);
        json.WriteEndObject();
        json.WriteStartObject("userProperties");
        json.WriteEndObject();
        json.WriteEndObject();
        return Finish(json);
    }

    // Opens the message of a run no MQTT message triggered (a schedule, a pin edge): no topic, no
    // publisher, an empty payload; the caller adds what did trigger it and closes the object.
    private static void WriteWithoutTrigger(Utf8JsonWriter json, string account, string script)
    {
        json.WriteStartObject();
        json.WriteNull("topic");
        json.WriteString("account", account);
        json.WriteString("script", script);
        json.WriteNull("publisher");
        json.WriteNull("clientId");
        json.WriteString("payload", "");
        json.WriteNull("json");
        json.WriteString("payloadBase64", "");
        json.WriteNumber("qos", 0);
        json.WriteBoolean("retain", false);
    }

    // One buffer and writer per thread, reused: a fresh ArrayBufferWriter grew to 4 KiB or more for
    // every run (Utf8JsonWriter asks for room in 4 KiB steps), the largest allocation of a small
    // rule's run; now a run allocates only the message's exact bytes.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    // A buffer grown past this by a large payload is not kept for the next message.
    private const int KeptBufferBytes = 64 * 1024;

    private static Utf8JsonWriter Begin()
    {
        ArrayBufferWriter<byte> buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        if (t_writer is { } writer)
        {
            writer.Reset(buffer);
            return writer;
        }
        return t_writer = new Utf8JsonWriter(buffer, WriterOptions);
    }

    private static byte[] Finish(Utf8JsonWriter json)
    {
        json.Flush();
        ArrayBufferWriter<byte> buffer = t_buffer!;
        byte[] message = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > KeptBufferBytes)
        {
            t_buffer = null;
            t_writer = null;
        }
        return message;
    }

    private static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteJsonOrNull(Utf8JsonWriter json, ReadOnlySpan<byte> payload)
    {
        if (RunMessage.PayloadIsJson(payload))
        {
            json.WriteRawValue(payload, skipInputValidation: true); // checked: copied as it is
        }
        else
        {
            json.WriteNullValue(); // not JSON: the script still has the text
        }
    }
}

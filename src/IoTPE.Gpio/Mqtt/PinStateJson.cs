using System.Buffers;
using System.Text.Json;

namespace IoTPE.Gpio.Mqtt;

/// <summary>
/// The JSON of a pin's state topic and of its set requests and refusals:
/// <c>{"value":1,"edge":"rising","timestamp":"2026-12-03T10:15:00.123+00:00"}</c>; in the error state
/// <c>{"value":null,"edge":null,"timestamp":"...","error":"no GPIO chip 0 ..."}</c>; an input whose rate
/// limit dropped edges just before adds <c>"coalesced": n</c>.
/// </summary>
public static class PinStateJson
{
    // As the engine's run outcomes: readable text (a pin's name in quotes stays ' instead of \u0027).
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The state topic's payload.</summary>
    public static byte[] Write(PinState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            if (state.Value is { } value)
            {
                json.WriteNumber("value", value);
            }
            else
            {
                json.WriteNull("value");
            }
            if (state.Edge is null)
            {
                json.WriteNull("edge");
            }
            else
            {
                json.WriteString("edge", state.Edge);
            }
            json.WriteString("timestamp", state.Timestamp);
            if (state.Error is not null)
            {
                json.WriteString("error", state.Error);
            }
            if (state.Coalesced > 0)
            {
                json.WriteNumber("coalesced", state.Coalesced);
            }
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A refusal: <c>{"error": "...", "pin": "led"}</c>.</summary>
    public static byte[] Refusal(string pin, string reason)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("error", reason);
            json.WriteString("pin", pin);
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The value of a set request: <c>0</c>, <c>1</c>, <c>true</c>, <c>false</c>, or an object
    /// <c>{"value": ...}</c> with one of those; null when the payload is none of them.
    /// </summary>
    public static int? ParseSetValue(ReadOnlySpan<byte> payload)
    {
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 4 });
            if (!reader.Read())
            {
                return null;
            }
            int? value;
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                value = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isValue = reader.ValueTextEquals("value"u8);
                    if (!reader.Read())
                    {
                        return null;
                    }
                    if (isValue)
                    {
                        value = Scalar(ref reader);
                    }
                    else if (!reader.TrySkip())
                    {
                        return null;
                    }
                }
                if (reader.TokenType != JsonTokenType.EndObject)
                {
                    return null;
                }
            }
            else
            {
                value = Scalar(ref reader);
            }
            return !reader.Read() && reader.BytesConsumed == payload.Length ? value : null;
        }
        catch (JsonException)
        {
            return null;
        }

        static int? Scalar(ref Utf8JsonReader reader) => reader.TokenType switch
        {
            JsonTokenType.True => 1,
            JsonTokenType.False => 0,
            JsonTokenType.Number when reader.TryGetInt32(out int n) && n is 0 or 1 => n,
            _ => null,
        };
    }
}

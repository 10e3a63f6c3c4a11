using System.Globalization;
using System.Text;
using System.Text.Json;
using Jint;
using Jint.Native;
using Jint.Runtime.Descriptors;

namespace IoTPE.Scripting.Sandbox;

/// <summary>
/// Turns a run's message (UTF-8 JSON) into the value the script gets, as <c>JSON.parse</c> would,
/// with its objects kept as plain property tables.
/// </summary>
/// <remarks>
/// Jint's own JSON parser gives parsed objects hidden classes, and every new key order it meets
/// adds transitions to a tree the engine keeps for its life: an account's first message of ~15
/// properties left ~15 KiB behind in its engine (measured: an idle account was 44.5 KiB after one run
/// with such a message, 29.5 KiB with <c>{}</c>). Objects built here take no hidden class. Input
/// this reader does not accept (malformed JSON, a lone surrogate escape) is left to Jint's parser,
/// which then gives JSON.parse's own answer or error.
/// </remarks>
internal static class MessageReader
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = SandboxEngineDefaults.JsonDepth };

    // A string with a lone surrogate has no UTF-8 form: such a message is left to Jint's parser.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>As <see cref="TryRead(Engine, ReadOnlySpan{byte}, out JsValue)"/>, for a message given as text.</summary>
    public static bool TryRead(Engine engine, string json, out JsValue value)
    {
        byte[] utf8;
        try
        {
            utf8 = StrictUtf8.GetBytes(json);
        }
        catch (EncoderFallbackException)
        {
            value = JsValue.Undefined;
            return false;
        }
        return TryRead(engine, utf8, out value);
    }

    /// <summary>The message as a JavaScript value, or <see langword="false"/> when this reader cannot take it.</summary>
    public static bool TryRead(Engine engine, ReadOnlySpan<byte> json, out JsValue value)
    {
        try
        {
            var reader = new Utf8JsonReader(json, Options);
            if (reader.Read())
            {
                value = ReadValue(engine, ref reader);
                if (!reader.Read())
                {
                    return true;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            // Malformed, or a string System.Text.Json will not decode (a lone surrogate): Jint's parser decides.
        }
        value = JsValue.Undefined;
        return false;
    }

    private static JsValue ReadValue(Engine engine, ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.StartObject => ReadObject(engine, ref reader),
        JsonTokenType.StartArray => ReadArray(engine, ref reader),
        JsonTokenType.String => new JsString(reader.GetString()!),
        JsonTokenType.Number => JsNumber.Create(reader.TryGetDouble(out double number)
            ? number
            : double.Parse(reader.ValueSpan, NumberStyles.Float, CultureInfo.InvariantCulture)), // beyond double: ±Infinity, as JSON.parse
        JsonTokenType.True => JsBoolean.True,
        JsonTokenType.False => JsBoolean.False,
        JsonTokenType.Null => JsValue.Null,
        _ => throw new JsonException($"unexpected {reader.TokenType}"),
    };

    private static JsObject ReadObject(Engine engine, ref Utf8JsonReader reader)
    {
        var result = new JsObject(engine);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = ReadPropertyName(ref reader);
            reader.Read();
            // A later duplicate key replaces the value, as in JSON.parse; "__proto__" is an own property.
            result.FastSetProperty(name, new PropertyDescriptor(ReadValue(engine, ref reader), PropertyFlag.ConfigurableEnumerableWritable));
        }
        return result;
    }

    // Property names repeat from message to message (the run message's own keys, and a device's
    // payload has the same shape each time): each worker thread keeps the short ones it has met, so
    // a run's message allocates no string for its keys. Bounded: past the limit names are not kept.
    [ThreadStatic]
    private static Dictionary<string, string>? t_names;
    private const int KeptNameLength = 32;
    private const int KeptNames = 512;

    private static string ReadPropertyName(ref Utf8JsonReader reader)
    {
        int length = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (length > KeptNameLength)
        {
            return reader.GetString()!;
        }
        Span<char> chars = stackalloc char[KeptNameLength];
        int count = reader.CopyString(chars);
        Dictionary<string, string> names = t_names ??= new Dictionary<string, string>(StringComparer.Ordinal);
        if (names.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars[..count], out string? known))
        {
            return known;
        }
        string name = new(chars[..count]);
        if (names.Count < KeptNames)
        {
            names.Add(name, name);
        }
        return name;
    }

    private static JsArray ReadArray(Engine engine, ref Utf8JsonReader reader)
    {
        var items = new List<JsValue>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            items.Add(ReadValue(engine, ref reader));
        }
        return new JsArray(engine, items.ToArray());
    }
}

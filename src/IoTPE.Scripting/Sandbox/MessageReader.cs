using System.Globalization;
using System.Text;
using System.Text.Json;
using Jint;
using Jint.Native;
using Jint.Native.Json;
using Jint.Runtime.Descriptors;

namespace IoTPE.Scripting.Sandbox;

/// <summary>
/// Turns a run's message (UTF-8 JSON) into the value the script gets, as <c>JSON.parse</c> would,
/// with its objects kept as plain property tables and its large values read when first used.
/// </summary>
/// <remarks>
/// <para>
/// Jint's own JSON parser gives parsed objects hidden classes, and every new key order it meets
/// adds transitions to a tree the engine keeps for its life: an account's first message of ~15
/// properties left ~15 KiB behind in its engine (measured: an idle account was 44.5 KiB after one run
/// with such a message, 29.5 KiB with <c>{}</c>). Objects built here take no hidden class. Input
/// this reader does not accept (malformed JSON, a lone surrogate escape) is left to Jint's parser,
/// which then gives JSON.parse's own answer or error.
/// </para>
/// <para>
/// A run's message carries its payload three times (<c>payload</c>, <c>json</c>,
/// <c>payloadBase64</c>) and a rule reads one of them: decoding all three was most of the work of a
/// small rule's run (callgrind, <c>/acme/run/rule</c> at 100 runs/s: 45 of the worker's ~115 thousand
/// instructions per run). So a string, object or array of <see cref="LazyValueBytes"/> or more is
/// only checked here, and decoded when the script first reads it (Jint's lazy data property: to
/// <c>in</c>, <c>Object.keys</c> or <c>JSON.stringify</c> it is an ordinary property). The reader
/// keeps its own copy of the message for that, as the caller's buffer is not the script's to keep.
/// </para>
/// </remarks>
internal static class MessageReader
{
    private static readonly JsonReaderOptions Options = new() { MaxDepth = SandboxEngineDefaults.JsonDepth };

    // A string with a lone surrogate has no UTF-8 form: such a message is left to Jint's parser.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// A string, object or array value whose JSON text is at least this long is decoded when first
    /// read; a shorter one costs less to decode now than to defer.
    /// </summary>
    internal const int LazyValueBytes = 24;

    /// <summary>As <see cref="TryRead(Engine, JsonParser, ReadOnlySpan{byte}, out JsValue)"/>, for a message given as text.</summary>
    public static bool TryRead(Engine engine, JsonParser fallback, string json, out JsValue value)
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
        return TryRead(new Source(engine, fallback, utf8), 0, utf8.Length, out value);
    }

    /// <summary>
    /// The message as a JavaScript value, or <see langword="false"/> when this reader cannot take it.
    /// <paramref name="fallback"/> (a new one if <see langword="null"/>) decodes a deferred value this
    /// reader turns out not to take (a lone surrogate escape), as it would have decoded the whole message.
    /// </summary>
    public static bool TryRead(Engine engine, JsonParser? fallback, ReadOnlySpan<byte> json, out JsValue value)
    {
        byte[] copy = json.ToArray();
        return TryRead(new Source(engine, fallback, copy), 0, copy.Length, out value);
    }

    private static bool TryRead(Source source, int start, int length, out JsValue value)
    {
        try
        {
            var reader = new Utf8JsonReader(source.Json.AsSpan(start, length), Options);
            if (reader.Read())
            {
                value = ReadValue(source, start, ref reader);
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

    // A deferred value, read on first use: by this reader, or (a lone surrogate escape in it) by Jint's.
    private static JsValue ReadDeferred(DeferredValue deferred)
    {
        Source source = deferred.Source;
        if (TryRead(source, deferred.Start, deferred.Length, out JsValue value))
        {
            return value;
        }
        return source.Fallback.Parse(Encoding.UTF8.GetString(source.Json, deferred.Start, deferred.Length));
    }

    // offset: where the reader's span starts in source.Json.
    private static JsValue ReadValue(Source source, int offset, ref Utf8JsonReader reader)
    {
        return reader.TokenType switch
        {
            JsonTokenType.StartObject => ReadObject(source, offset, ref reader),
            JsonTokenType.StartArray => ReadArray(source, offset, ref reader),
            JsonTokenType.String => new JsString(reader.GetString()!),
            JsonTokenType.Number => JsNumber.Create(reader.TryGetDouble(out double number)
                ? number
                : double.Parse(reader.ValueSpan, NumberStyles.Float, CultureInfo.InvariantCulture)), // beyond double: ±Infinity, as JSON.parse
            JsonTokenType.True => JsBoolean.True,
            JsonTokenType.False => JsBoolean.False,
            JsonTokenType.Null => JsValue.Null,
            _ => throw new JsonException($"unexpected {reader.TokenType}"),
        };
    }

    // A property's value: decoded now, or (a large string, object or array) checked and deferred.
    private static PropertyDescriptor ReadProperty(Source source, int offset, ref Utf8JsonReader reader)
    {
        int start = (int)reader.TokenStartIndex;
        switch (reader.TokenType)
        {
            case JsonTokenType.String when reader.ValueSpan.Length + 2 >= LazyValueBytes && !reader.HasValueSequence:
                // The reader has checked the string's escapes and UTF-8; a lone surrogate escape is the
                // one thing only decoding finds (ReadDeferred then hands it to Jint's parser).
                return Defer(source, offset + start, reader.ValueSpan.Length + 2);
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                reader.Skip(); // checks the value through to its end, as reading it would
                int length = (int)reader.TokenStartIndex + 1 - start;
                if (length >= LazyValueBytes)
                {
                    return Defer(source, offset + start, length);
                }
                var small = new Utf8JsonReader(source.Json.AsSpan(offset + start, length), Options);
                small.Read();
                return new PropertyDescriptor(ReadValue(source, offset + start, ref small), PropertyFlag.ConfigurableEnumerableWritable);
            default:
                return new PropertyDescriptor(ReadValue(source, offset, ref reader), PropertyFlag.ConfigurableEnumerableWritable);
        }
    }

    private static PropertyDescriptor Defer(Source source, int start, int length) =>
        PropertyDescriptor.CreateLazy(new DeferredValue(source, start, length), ReadDeferred, PropertyFlag.ConfigurableEnumerableWritable);

    private static JsObject ReadObject(Source source, int offset, ref Utf8JsonReader reader)
    {
        var result = new JsObject(source.Engine);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = ReadPropertyName(ref reader);
            reader.Read();
            // A later duplicate key replaces the value, as in JSON.parse; "__proto__" is an own property.
            result.FastSetProperty(name, ReadProperty(source, offset, ref reader));
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

    private static JsArray ReadArray(Source source, int offset, ref Utf8JsonReader reader)
    {
        var items = new List<JsValue>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            items.Add(ReadValue(source, offset, ref reader));
        }
        return new JsArray(source.Engine, items.ToArray());
    }

    /// <summary>The message being read: the reader's own copy, and who decodes what this reader does not take.</summary>
    private sealed class Source(Engine engine, JsonParser? fallback, byte[] json)
    {
        public Engine Engine { get; } = engine;

        public byte[] Json { get; } = json;

        public JsonParser Fallback => fallback ??= new JsonParser(Engine);
    }

    /// <summary>A value's JSON text in <see cref="Source.Json"/>, decoded on first read.</summary>
    private sealed record DeferredValue(Source Source, int Start, int Length);
}

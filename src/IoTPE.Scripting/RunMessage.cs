using System.Text.Json;

namespace IoTPE.Scripting;

/// <summary>
/// The MQTT message that triggered a run, as the script's <c>message</c> object gets it: the fields
/// of <c>{ topic, account, script, publisher, clientId, payload, json, payloadBase64, qos, retain,
/// contentType, responseTopic, correlationData, correlationDataBase64, userProperties }</c>, in that
/// order, without encoding them to JSON for the heap to decode again.
/// </summary>
/// <remarks>
/// <c>payload</c> is the payload as UTF-8 text (malformed sequences become U+FFFD), <c>json</c> the
/// payload parsed when it is one JSON value (<see cref="PayloadIsJson"/>), else <see langword="null"/>,
/// <c>payloadBase64</c> its bytes in base64; <c>correlationData</c> and <c>correlationDataBase64</c>
/// likewise, or <see langword="null"/> without correlation data. The payload's three forms and the
/// correlation data's two are computed when the script first reads them: a rule reads one.
/// The payload and correlation data are kept as given: they must not change afterwards.
/// </remarks>
public sealed class RunMessage
{
    /// <summary>The most nesting a payload may have for <c>json</c> to be it parsed.</summary>
    public const int JsonPayloadDepth = 64;

    /// <summary>The topic the message was published to.</summary>
    public required string Topic { get; init; }

    /// <summary>The account whose script runs.</summary>
    public required string Account { get; init; }

    /// <summary>The script's name.</summary>
    public required string Script { get; init; }

    /// <summary>The publishing account; <see langword="null"/> for an anonymous client.</summary>
    public string? Publisher { get; init; }

    /// <summary>The publishing client's identifier, when known.</summary>
    public string? ClientId { get; init; }

    /// <summary>The payload bytes.</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>The QoS the message was published with.</summary>
    public int QoS { get; init; }

    /// <summary>The RETAIN flag the message was published with.</summary>
    public bool Retain { get; init; }

    /// <summary>MQTT 5 Content Type, when given.</summary>
    public string? ContentType { get; init; }

    /// <summary>MQTT 5 Response Topic, when given.</summary>
    public string? ResponseTopic { get; init; }

    /// <summary>MQTT 5 Correlation Data, when given.</summary>
    public ReadOnlyMemory<byte>? CorrelationData { get; init; }

    /// <summary>MQTT 5 User Properties, in the order they came (a repeated name: the last value, at the first place).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> UserProperties { get; init; } = [];

    /// <summary>
    /// Whether <paramref name="payload"/> is exactly one JSON value (no trailing bytes, nested at most
    /// <see cref="JsonPayloadDepth"/> deep): then the script's <c>message.json</c> is it parsed,
    /// otherwise <see langword="null"/> (an empty payload too).
    /// </summary>
    public static bool PayloadIsJson(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return false;
        }
        try
        {
            // Read through once, nothing built.
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = JsonPayloadDepth });
            return reader.Read() && reader.TrySkip() && reader.BytesConsumed == payload.Length;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

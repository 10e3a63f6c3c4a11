using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using IoTPE.Mqtt;

namespace IoTPE.Client;

/// <summary>
/// An application message: what <see cref="MqttClient.PublishAsync(MqttMessage, CancellationToken)"/> sends and
/// what a subscription handler receives. Received messages also say how often they were handed to a handler
/// (<see cref="DeliveryAttempt"/>, <see cref="IsRedelivery"/>).
/// </summary>
public sealed class MqttMessage
{
    /// <summary>Creates a message (QoS 2, not retained, no properties unless set with an object initializer).</summary>
    /// <param name="topic">A topic name: not empty, no wildcards.</param>
    /// <param name="payload">The payload bytes; the client keeps a reference, so do not change them afterwards.</param>
    public MqttMessage(string topic, ReadOnlyMemory<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(topic);
        Topic = topic;
        Payload = payload;
    }

    /// <summary>The topic name.</summary>
    public string Topic { get; }

    /// <summary>The payload bytes.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The quality of service: <see cref="QualityOfService.ExactlyOnce"/> unless set.</summary>
    public QualityOfService QoS { get; init; } = QualityOfService.ExactlyOnce;

    /// <summary>Whether the broker keeps the message as the topic's retained message (or, received, whether it was one).</summary>
    public bool Retain { get; init; }

    /// <summary>MQTT 5.0 properties (content type, user properties, response topic, correlation data, expiry); ignored by 3.1.1 connections.</summary>
    public PublishProperties? Properties { get; init; }

    /// <summary>For a received message: which attempt of its handler this is, starting at 1 (counted across restarts for QoS 2).</summary>
    public int DeliveryAttempt { get; internal set; }

    /// <summary>
    /// For a received message: true when a handler may have seen it before — an earlier attempt failed, the process
    /// stopped while a handler was running for it, or (QoS 1) the broker resent it. QoS 2 records each attempt
    /// before it starts, so a QoS 2 message with <c>false</c> here has certainly never been handed to a handler.
    /// </summary>
    public bool IsRedelivery { get; internal set; }

    /// <summary>The payload decoded as UTF-8.</summary>
    public string GetPayloadAsString() => Encoding.UTF8.GetString(Payload.Span);

    /// <summary>The payload deserialized from JSON with source-generated metadata (no reflection).</summary>
    /// <typeparam name="T">The payload's type.</typeparam>
    /// <param name="jsonTypeInfo">The type's metadata from a <c>JsonSerializerContext</c>.</param>
    /// <exception cref="JsonException">The payload is not valid JSON for <typeparamref name="T"/>.</exception>
    public T? GetPayloadAsJson<T>(JsonTypeInfo<T> jsonTypeInfo) => JsonSerializer.Deserialize(Payload.Span, jsonTypeInfo);
}

namespace IoTPE.Mqtt;

/// <summary>
/// Subscription Options (spec 3.8.3.1): bits 1-0 Maximum QoS, bit 2 No Local, bit 3 Retain As Published, bits 5-4
/// Retain Handling, bits 7-6 reserved. 3.1.1 has only the requested QoS (bits 1-0).
/// </summary>
/// <param name="MaximumQoS">The maximum QoS the server may use for this subscription.</param>
/// <param name="NoLocal">Do not send messages published by this connection's client (5.0).</param>
/// <param name="RetainAsPublished">Keep the RETAIN flag as published when forwarding (5.0).</param>
/// <param name="RetainHandling">Whether retained messages are sent at subscribe time (5.0).</param>
public readonly record struct SubscriptionOptions(
    QualityOfService MaximumQoS,
    bool NoLocal = false,
    bool RetainAsPublished = false,
    RetainHandling RetainHandling = RetainHandling.SendAtSubscribe)
{
    /// <summary>The options byte for <paramref name="version"/> (3.1.1 keeps only the QoS).</summary>
    /// <param name="version">The connection's protocol version.</param>
    public byte ToByte(MqttProtocolVersion version) => PacketBody.IsVersion5(version)
        ? (byte)((byte)MaximumQoS | (NoLocal ? 0x04 : 0) | (RetainAsPublished ? 0x08 : 0) | ((byte)RetainHandling << 4))
        : (byte)MaximumQoS;
}

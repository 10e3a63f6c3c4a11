namespace IoTPE.Mqtt;

/// <summary>
/// Why a packet could not be decoded. Decoders return this as a value and never throw on bad input; the
/// caller turns it into a DISCONNECT (5.0, with <see cref="ReasonCode"/>) or closes the connection (3.1.1).
/// </summary>
/// <param name="ReasonCode">The reason code the spec requires for this failure, e.g. <see cref="ReasonCode.MalformedPacket"/>.</param>
/// <param name="Message">A short, fixed description of the failure (the decoder uses cached strings, so the error path does not allocate).</param>
public readonly record struct MqttDecodeError(ReasonCode ReasonCode, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{ReasonCode} (0x{(byte)ReasonCode:X2}): {Message}";
}

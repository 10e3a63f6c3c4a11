namespace IoTPE.Mqtt;

/// <summary>
/// How much of an optional tail a PUBACK/PUBREC/PUBREL/PUBCOMP, DISCONNECT or AUTH carried on the wire (5.0).
/// Senders may omit the reason code when it is 0x00 and the Property Length when there are no properties
/// (spec 3.4.2.1, 3.14.2.1, 3.15.2.1); some peers include them anyway. The encoder writes the shortest form the
/// values allow, but never shorter than the form a decoded packet arrived in, so re-encoding is byte-exact.
/// </summary>
internal enum AcknowledgementForm : byte
{
    /// <summary>Neither reason code nor properties.</summary>
    Shortest,

    /// <summary>Reason code, no Property Length.</summary>
    WithReasonCode,

    /// <summary>Reason code and Property Length (possibly 0).</summary>
    WithProperties,
}

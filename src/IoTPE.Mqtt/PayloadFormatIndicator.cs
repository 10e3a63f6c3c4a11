namespace IoTPE.Mqtt;

/// <summary>Payload Format Indicator property values (spec 3.3.2.3.2).</summary>
public enum PayloadFormatIndicator : byte
{
    /// <summary>0: the payload is unspecified bytes.</summary>
    Unspecified = 0,

    /// <summary>1: the payload is UTF-8 encoded character data.</summary>
    Utf8 = 1,
}

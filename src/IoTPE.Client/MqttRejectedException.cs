using IoTPE.Mqtt;

namespace IoTPE.Client;

/// <summary>The broker refused a request: a CONNACK, PUBACK, PUBREC, SUBACK or UNSUBACK with a failure reason code.</summary>
public sealed class MqttRejectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MqttRejectedException()
        : this(ReasonCode.UnspecifiedError, "The broker refused the request.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was refused.</param>
    public MqttRejectedException(string message)
        : this(ReasonCode.UnspecifiedError, message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was refused.</param>
    /// <param name="innerException">The cause.</param>
    public MqttRejectedException(string message, Exception innerException)
        : base(message, innerException) => ReasonCode = ReasonCode.UnspecifiedError;

    /// <summary>Creates the exception.</summary>
    /// <param name="reasonCode">The broker's reason code (3.1.1 codes are mapped to their 5.0 equivalents).</param>
    /// <param name="message">What was refused.</param>
    public MqttRejectedException(ReasonCode reasonCode, string message)
        : base(message) => ReasonCode = reasonCode;

    /// <summary>The broker's reason code.</summary>
    public ReasonCode ReasonCode { get; }
}

namespace IoTPE.Client;

/// <summary>Why a message was given up on (<see cref="DeadLetter.Reason"/>).</summary>
public enum DeadLetterReason
{
    /// <summary>Its handler failed <see cref="MqttClientOptions.HandlerMaxAttempts"/> times.</summary>
    HandlerFailed,

    /// <summary>No subscription of this client matched it for <see cref="MqttClientOptions.UnhandledMessageTimeout"/>.</summary>
    NoHandler,

    /// <summary>The broker refused a publish of this client (a PUBACK or PUBREC with a failure reason code).</summary>
    RejectedByBroker,
}

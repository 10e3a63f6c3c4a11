namespace IoTPE.Client;

/// <summary>
/// A message the client gave up on. It is also kept in the state file's <c>dead_letter</c> table, committed before
/// <see cref="MqttClientOptions.DeadLetterHandler"/> sees it, so nothing disappears silently.
/// </summary>
public sealed class DeadLetter
{
    internal DeadLetter(MqttMessage message, DeadLetterReason reason, int attempts, string error)
    {
        Message = message;
        Reason = reason;
        Attempts = attempts;
        Error = error;
    }

    /// <summary>The message.</summary>
    public MqttMessage Message { get; }

    /// <summary>Why it was given up on.</summary>
    public DeadLetterReason Reason { get; }

    /// <summary>How many times a handler was run for it (0 for <see cref="DeadLetterReason.NoHandler"/> and <see cref="DeadLetterReason.RejectedByBroker"/>).</summary>
    public int Attempts { get; }

    /// <summary>The last handler error, or a description of the reason.</summary>
    public string Error { get; }
}

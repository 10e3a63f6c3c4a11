namespace IoTPE.Client.Dispatch;

/// <summary>How a subscription's messages are scheduled.</summary>
internal enum SubscriptionKind
{
    /// <summary>Application events: one at a time, in arrival order (a message being retried steps aside).</summary>
    Event,

    /// <summary>Command calls: concurrently, up to <see cref="MqttClientOptions.MaxConcurrentCommands"/> at once.</summary>
    Command,

    /// <summary>Quick internal messages (command cancellations): at once, never waiting behind events or calls.</summary>
    Control,
}

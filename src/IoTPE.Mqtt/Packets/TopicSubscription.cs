namespace IoTPE.Mqtt;

/// <summary>One entry of a SUBSCRIBE payload (spec 3.8.3): a topic filter and its options.</summary>
/// <param name="TopicFilter">The topic filter, possibly a shared subscription "$share/{ShareName}/{filter}".</param>
/// <param name="Options">The subscription options.</param>
public readonly record struct TopicSubscription(string TopicFilter, SubscriptionOptions Options);

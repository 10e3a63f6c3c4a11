namespace IoTPE.Broker.Storage;

/// <summary>A persistent session as stored.</summary>
/// <param name="ClientId">The MQTT client identifier.</param>
/// <param name="ProtocolVersion">3, 4 or 5 (the MQTT protocol level of the session's last CONNECT).</param>
/// <param name="ExpiryIntervalSeconds">Session Expiry Interval; <see cref="uint.MaxValue"/> means never.</param>
/// <param name="DisconnectedAtUnixMs">When the client disconnected, or null while it is connected.</param>
/// <param name="UserName">The authenticated user name (account), if any.</param>
public sealed record StoredSession(string ClientId, byte ProtocolVersion, uint ExpiryIntervalSeconds, long? DisconnectedAtUnixMs, string? UserName);

/// <summary>One subscription of a persistent session.</summary>
/// <param name="ClientId">The session.</param>
/// <param name="TopicFilter">The filter as subscribed, including a <c>$share/&lt;name&gt;/</c> prefix.</param>
/// <param name="Options">The MQTT 5.0 subscription options byte (§3.8.3.1): QoS, No Local, Retain As Published, Retain Handling.</param>
/// <param name="SubscriptionIdentifier">The Subscription Identifier, or 0 for none.</param>
public sealed record StoredSubscription(string ClientId, string TopicFilter, byte Options, uint SubscriptionIdentifier);

/// <summary>A stored application message.</summary>
/// <param name="Id">Unique id chosen by the broker (increasing).</param>
/// <param name="Packet">The message as an MQTT 5.0 PUBLISH packet (topic, payload, QoS, retain and properties).</param>
/// <param name="ExpiresAtUnixMs">When the message expires (Message Expiry Interval), or null.</param>
/// <param name="Publisher">The publishing client identifier (for No Local), or null for messages the broker made.</param>
/// <param name="PublisherUserName">The publishing account, if any.</param>
public sealed record StoredMessage(long Id, byte[] Packet, long? ExpiresAtUnixMs, string? Publisher, string? PublisherUserName)
{
    /// <summary>
    /// True when the payload is kept apart from <see cref="Packet"/> (whose payload is then empty):
    /// written from <see cref="Payload"/>, and left on disk by <see cref="IBrokerStore.Load"/>, which
    /// gives only <see cref="PayloadLength"/>; <see cref="IBrokerStore.ReadPayload"/> reads it when
    /// the message is delivered. False for a payload inside the packet (every message stored before
    /// the payload had its own column).
    /// </summary>
    public bool PayloadApart { get; init; }

    /// <summary>The payload to write when <see cref="PayloadApart"/>; never filled by <see cref="IBrokerStore.Load"/>.</summary>
    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>The payload's length when <see cref="PayloadApart"/> (also after a load, which leaves the payload on disk).</summary>
    public int PayloadLength { get; init; }

    /// <summary>When the broker stored it (Unix milliseconds), or null for messages stored before schema version 5.</summary>
    public long? StoredAtUnixMs { get; init; }
}

/// <summary>A message queued or in flight to a persistent session.</summary>
/// <param name="ClientId">The session.</param>
/// <param name="Sequence">Position in the session's outgoing queue; increasing per session. The packet identifier of the delivery derives from it.</param>
/// <param name="MessageId">The <see cref="StoredMessage.Id"/>.</param>
/// <param name="QoS">The QoS of this delivery (the lower of the message's and the subscription's).</param>
/// <param name="Retain">The RETAIN flag to send.</param>
/// <param name="Released">PUBREC arrived; resend PUBREL, not PUBLISH.</param>
/// <param name="SubscriptionIdentifiers">Subscription Identifiers to send with it, or empty.</param>
public sealed record StoredDelivery(string ClientId, long Sequence, long MessageId, byte QoS, bool Retain, bool Released, uint[] SubscriptionIdentifiers);

/// <summary>A delivery read back with <see cref="IBrokerStore.ReadDeliveries"/>, with its message (null when the message row is missing).</summary>
public sealed record StoredQueuedDelivery(StoredDelivery Delivery, StoredMessage? Message);

/// <summary>A QoS 2 packet identifier received from a persistent session, awaiting PUBREL.</summary>
public sealed record StoredIncomingPacketIdentifier(string ClientId, ushort PacketIdentifier);

/// <summary>A retained message entry.</summary>
public sealed record StoredRetained(string Topic, long MessageId);

/// <summary>Everything <see cref="IBrokerStore.Load"/> returns. Deliveries come ordered by client and sequence.</summary>
public sealed record StoredBrokerState(
    IReadOnlyList<StoredSession> Sessions,
    IReadOnlyList<StoredSubscription> Subscriptions,
    IReadOnlyList<StoredMessage> Messages,
    IReadOnlyList<StoredDelivery> Deliveries,
    IReadOnlyList<StoredIncomingPacketIdentifier> IncomingPacketIdentifiers,
    IReadOnlyList<StoredRetained> Retained)
{
    /// <summary>The highest message id reserved before (see <see cref="IBrokerStore.ReserveMessageIds"/>); new ids start above it.</summary>
    public long MessageIdsReservedUpTo { get; init; }
}

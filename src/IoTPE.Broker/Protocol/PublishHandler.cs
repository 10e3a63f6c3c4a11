using System.Text.Unicode;
using IoTPE.Broker.Connections;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Routing;
using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Protocol;

/// <summary>
/// A PUBLISH from a client (MQTT 5.0 §3.3.4, §4.3): checks it, resolves its topic alias,
/// authorizes it, updates the retained message, routes it, and acknowledges it once what it
/// changed is durable. Used under the broker lock.
/// </summary>
internal sealed class PublishHandler
{
    private readonly BrokerState _state;
    private readonly MessageRouter _router;
    private readonly RetainedMessages _retained;

    public PublishHandler(BrokerState state, MessageRouter router, RetainedMessages retained)
    {
        _state = state;
        _router = router;
        _retained = retained;
    }

    /// <summary>Handles one PUBLISH. Returns false when the connection must end.</summary>
    public bool Handle(NetworkConnection connection, in PublishPacket packet)
    {
        Session session = connection.Session!;
        QualityOfService qos = packet.QoS;
        if (qos > _state.Options.MaximumQoS)
        {
            connection.ProtocolViolation(ReasonCode.QoSNotSupported, $"QoS {(int)qos} is above the server's Maximum QoS");
            return false;
        }
        if (!ResolveTopic(connection, packet, out string topic, out byte[] topicUtf8))
        {
            return false;
        }
        if (qos == QualityOfService.ExactlyOnce && session.IncomingPacketIdentifiers.Contains(packet.PacketIdentifier))
        {
            // §4.3.3: a resent PUBLISH whose PUBREC may have been lost: answer again, deliver once.
            _state.Durability.Acknowledge(connection, session, qos, packet.PacketIdentifier, ReasonCode.Success);
            return true;
        }
        if (qos != QualityOfService.AtMostOnce && connection.AdmitIncoming() > _state.Options.ReceiveMaximum &&
            connection.ProtocolVersion == MqttProtocolVersion.V500)
        {
            connection.ProtocolViolation(ReasonCode.ReceiveMaximumExceeded, "more unacknowledged QoS 1/2 PUBLISH packets than the Receive Maximum");
            return false;
        }
        _state.Counters.MessagesReceived++;

        ReasonCode refusal = Check(connection, session, packet, topic);
        if (refusal != ReasonCode.Success)
        {
            Refuse(connection, session, packet, topic, refusal);
            return true;
        }
        if (packet.Retain && !_retained.WithinQuota(topic, topicUtf8.Length, packet.Payload.Length))
        {
            Refuse(connection, session, packet, topic, ReasonCode.QuotaExceeded);
            return true;
        }

        var message = new ApplicationMessage(topic, topicUtf8, packet.Payload.ToArray(), qos, packet.Retain, ForwardedProperties(packet.Properties))
        {
            ExpiresAtUnixMs = packet.Properties?.MessageExpiryInterval is { } interval ? _state.NowUnixMs + interval * 1000L : null,
            PublisherClientId = session.Identity.ClientId,
            PublisherUserName = session.Identity.UserName,
        };
        // Decided before anything is acknowledged or changed: a QoS 1/2 message that would
        // overflow a subscriber's queue is refused whole, so the publisher keeps and resends it.
        _router.Plan(message);
        if (_router.Overflows(message))
        {
            Refuse(connection, session, packet, topic, ReasonCode.QuotaExceeded);
            return true;
        }
        // Also before the interceptor: a run request refused here is never handed to the engine.
        bool storesIdentifier = qos == QualityOfService.ExactlyOnce && session.IsPersistent;
        if (DiskReserveAdmission.Refuses(_state, _router, message, storesIdentifier))
        {
            // Not logged one by one: a flood would write a line per message to a disk that is filling
            // up. Entering and leaving the reserve are logged, refusals counted in $SYS.
            Refuse(connection, session, packet, topic, ReasonCode.QuotaExceeded, log: false);
            return true;
        }
        if (_state.Interceptor is { } interceptor)
        {
            ReasonCode verdict = interceptor.OnPublish(session.Identity, message);
            if (verdict != ReasonCode.Success)
            {
                Refuse(connection, session, packet, topic, verdict);
                return true;
            }
        }
        if (packet.Retain)
        {
            if (!_state.Options.RetainAvailable)
            {
                connection.ProtocolViolation(ReasonCode.RetainNotSupported, "retained messages are not supported");
                return false;
            }
            _retained.Update(message);
        }
        if (qos == QualityOfService.ExactlyOnce)
        {
            session.IncomingPacketIdentifiers.Add(packet.PacketIdentifier);
            if (session.IsPersistent)
            {
                // Stored with the message's effects, so that after a crash a resent PUBLISH is
                // recognised and not delivered twice; deliveries wait for this commit.
                _state.Store.AddIncomingPacketIdentifier(session.ClientId, packet.PacketIdentifier);
                _state.Durability.DependOnThisEpoch(message);
            }
        }
        int recipients = _router.Deliver(message);
        if (qos != QualityOfService.AtMostOnce)
        {
            ReasonCode success = recipients == 0 && connection.ProtocolVersion == MqttProtocolVersion.V500
                ? ReasonCode.NoMatchingSubscribers
                : ReasonCode.Success;
            _state.Durability.Acknowledge(connection, session, qos, packet.PacketIdentifier, success);
        }
        return true;
    }

    /// <summary>PUBREL from the client (§4.3.3): the QoS 2 identifier is free again; answer PUBCOMP once that is durable.</summary>
    public void HandlePubRel(NetworkConnection connection, ushort packetIdentifier)
    {
        Session session = connection.Session!;
        if (!session.IncomingPacketIdentifiers.Remove(packetIdentifier))
        {
            // Usually a PUBREL resent after a reconnect whose PUBCOMP was lost: the flow is complete.
            // MQTT 5.0 allows 0x92 here ("not an error during recovery"), but clients such as
            // MQTT.js report 0x92 as a failed publish, so answer Success, as Mosquitto does.
            connection.Send(new PubCompPacket(packetIdentifier));
            return;
        }
        if (session.IsPersistent)
        {
            // If this were lost in a crash, a new PUBLISH reusing the identifier would look like a duplicate and be dropped.
            _state.Store.RemoveIncomingPacketIdentifier(session.ClientId, packetIdentifier);
            _state.Durability.AfterCommit(durable =>
            {
                if (ReferenceEquals(session.Connection, connection))
                {
                    connection.ReleaseIncoming();
                    if (durable)
                    {
                        connection.Send(new PubCompPacket(packetIdentifier));
                    }
                }
            });
        }
        else
        {
            connection.ReleaseIncoming();
            connection.Send(new PubCompPacket(packetIdentifier));
        }
    }

    private bool ResolveTopic(NetworkConnection connection, in PublishPacket packet, out string topic, out byte[] topicUtf8)
    {
        ushort? alias = packet.Properties?.TopicAlias;
        if (alias is { } a)
        {
            // §3.3.2.3.4: 0 and values above our Topic Alias Maximum are invalid.
            if (a == 0 || a > _state.Options.TopicAliasMaximum)
            {
                connection.ProtocolViolation(ReasonCode.TopicAliasInvalid, $"topic alias {a} is outside 1..{_state.Options.TopicAliasMaximum}");
                topic = string.Empty;
                topicUtf8 = [];
                return false;
            }
            if (packet.TopicName.IsEmpty)
            {
                if (!connection.IncomingTopicAliases.TryResolve(a, out string known))
                {
                    connection.ProtocolViolation(ReasonCode.ProtocolError, $"topic alias {a} was never set");
                    topic = string.Empty;
                    topicUtf8 = [];
                    return false;
                }
                topic = known;
                topicUtf8 = connection.TopicNames.Utf8Of(known);
                return true;
            }
            (topic, topicUtf8) = connection.TopicNames.Get(packet.TopicName.Span);
            connection.IncomingTopicAliases.Set(a, topic);
            return true;
        }
        if (packet.TopicName.IsEmpty)
        {
            connection.ProtocolViolation(ReasonCode.ProtocolError, "empty topic name without a topic alias");
            topic = string.Empty;
            topicUtf8 = [];
            return false;
        }
        (topic, topicUtf8) = connection.TopicNames.Get(packet.TopicName.Span);
        return true;
    }

    private ReasonCode Check(NetworkConnection connection, Session session, in PublishPacket packet, string topic)
    {
        if (TopicName.IsDollarTopic(topic))
        {
            // §4.7.2: $-topics are the server's; clients do not publish there ($SYS is read-only).
            return ReasonCode.NotAuthorized;
        }
        if (!_state.Authorizer.CanPublish(session.Identity, topic))
        {
            return ReasonCode.NotAuthorized;
        }
        if (connection.ProtocolVersion == MqttProtocolVersion.V500 &&
            packet.Properties?.PayloadFormatIndicator == PayloadFormatIndicator.Utf8 &&
            !Utf8.IsValid(packet.Payload.Span))
        {
            return ReasonCode.PayloadFormatInvalid;
        }
        return ReasonCode.Success;
    }

    /// <summary>
    /// A refused PUBLISH is acknowledged with the reason code in MQTT 5.0. In 3.1.1, which has no
    /// negative acknowledgement, a PUBLISH refused for a quota (0x97: a full queue, or retained
    /// messages over their namespace's quota) is not acknowledged, so the client keeps it and sends
    /// it again after reconnecting (§4.4); any other refusal is acknowledged normally and dropped
    /// (as the 3.1.1 spec allows, §4.12). QoS 0 is dropped (counted and logged). The disk reserve's
    /// refusals are 0x97 as well (the server's storage quota, §3.4.2.1) and are counted, not logged.
    /// </summary>
    private void Refuse(NetworkConnection connection, Session session, in PublishPacket packet, string topic, ReasonCode reason, bool log = true)
    {
        _state.Counters.PublishesRefused++;
        if (log)
        {
            _state.Log.PublishRefused(session.ClientId, topic, reason, ReasonText(reason));
        }
        if (packet.QoS == QualityOfService.AtMostOnce)
        {
            return;
        }
        if (connection.ProtocolVersion == MqttProtocolVersion.V500)
        {
            _state.Durability.Acknowledge(connection, session, packet.QoS, packet.PacketIdentifier, reason);
            return;
        }
        if (reason == ReasonCode.QuotaExceeded)
        {
            connection.ReleaseIncoming();
            return;
        }
        if (packet.QoS == QualityOfService.ExactlyOnce)
        {
            session.IncomingPacketIdentifiers.Add(packet.PacketIdentifier);
        }
        _state.Durability.Acknowledge(connection, session, packet.QoS, packet.PacketIdentifier, ReasonCode.Success);
    }

    private static string ReasonText(ReasonCode reason) => reason switch
    {
        ReasonCode.NotAuthorized => "not authorized to publish to this topic",
        ReasonCode.PayloadFormatInvalid => "payload is not valid UTF-8 although the Payload Format Indicator says so",
        ReasonCode.QuotaExceeded => "a queue it would go to is full, or the namespace's retained messages would exceed their quota; the publisher sends it again",
        _ => "refused",
    };

    // A client cannot set the broker's and the engine's own properties (e.g. a run's hop count).
    private static IReadOnlyList<UserProperty> WithoutInternal(IReadOnlyList<UserProperty> properties)
    {
        foreach (UserProperty property in properties)
        {
            if (property.Name.StartsWith(ApplicationMessage.InternalUserPropertyPrefix, StringComparison.Ordinal))
            {
                return [.. properties.Where(p => !p.Name.StartsWith(ApplicationMessage.InternalUserPropertyPrefix, StringComparison.Ordinal))];
            }
        }
        return properties;
    }

    /// <summary>The properties that travel with the message to subscribers (§3.3.4): not the alias, the expiry (recomputed per send) or subscription identifiers.</summary>
    private static PublishProperties? ForwardedProperties(PublishProperties? received)
    {
        if (received is null ||
            (received.PayloadFormatIndicator is null && received.ContentType is null && received.ResponseTopic is null &&
             received.CorrelationData is null && received.UserProperties.Count == 0))
        {
            return null;
        }
        return new PublishProperties
        {
            PayloadFormatIndicator = received.PayloadFormatIndicator,
            ContentType = received.ContentType,
            ResponseTopic = received.ResponseTopic,
            CorrelationData = received.CorrelationData,
            UserProperties = WithoutInternal(received.UserProperties),
        };
    }
}

using System.Text;

namespace IoTPE.Mqtt.Tests;

/// <summary>
/// Every public field of a packet as text, so two packets can be compared field by field (round trips) and a
/// failure shows what differs.
/// </summary>
internal static class PacketDescription
{
    public static string Of(IMqttPacket packet)
    {
        var text = new StringBuilder();
        text.Append(packet.Type).Append(": ");
        switch (packet)
        {
            case ConnectPacket p:
                Add(text, "version", p.ProtocolVersion);
                Add(text, "name", p.ProtocolName);
                Add(text, "level", p.ProtocolLevel);
                Add(text, "clientId", p.ClientIdentifier);
                Add(text, "clean", p.CleanStart);
                Add(text, "keepAlive", p.KeepAlive);
                Add(text, "user", p.UserName);
                Add(text, "password", Bytes(p.Password));
                Add(text, "sessionExpiry", p.SessionExpiryInterval);
                Add(text, "receiveMaximum", p.ReceiveMaximum);
                Add(text, "maximumPacketSize", p.MaximumPacketSize);
                Add(text, "topicAliasMaximum", p.TopicAliasMaximum);
                Add(text, "requestResponse", p.RequestResponseInformation);
                Add(text, "requestProblem", p.RequestProblemInformation);
                Add(text, "authMethod", p.AuthenticationMethod);
                Add(text, "authData", Bytes(p.AuthenticationData));
                Add(text, "user properties", UserProperties(p.UserProperties));
                if (p.Will is { } will)
                {
                    Add(text, "will.topic", will.Topic);
                    Add(text, "will.payload", Hex.Of(will.Payload.Span));
                    Add(text, "will.qos", will.QoS);
                    Add(text, "will.retain", will.Retain);
                    Add(text, "will.delay", will.WillDelayInterval);
                    Add(text, "will.format", will.PayloadFormatIndicator);
                    Add(text, "will.expiry", will.MessageExpiryInterval);
                    Add(text, "will.contentType", will.ContentType);
                    Add(text, "will.responseTopic", will.ResponseTopic);
                    Add(text, "will.correlation", Bytes(will.CorrelationData));
                    Add(text, "will.user properties", UserProperties(will.UserProperties));
                }
                else
                {
                    Add(text, "will", "none");
                }

                break;
            case ConnAckPacket p:
                Add(text, "sessionPresent", p.SessionPresent);
                Add(text, "reason", p.ReasonCode);
                Add(text, "return", p.ReturnCode);
                Add(text, "sessionExpiry", p.SessionExpiryInterval);
                Add(text, "receiveMaximum", p.ReceiveMaximum);
                Add(text, "maximumQoS", p.MaximumQoS);
                Add(text, "retainAvailable", p.RetainAvailable);
                Add(text, "maximumPacketSize", p.MaximumPacketSize);
                Add(text, "assignedClientId", p.AssignedClientIdentifier);
                Add(text, "topicAliasMaximum", p.TopicAliasMaximum);
                Add(text, "reasonString", p.ReasonString);
                Add(text, "wildcard", p.WildcardSubscriptionAvailable);
                Add(text, "subscriptionIds", p.SubscriptionIdentifiersAvailable);
                Add(text, "shared", p.SharedSubscriptionAvailable);
                Add(text, "serverKeepAlive", p.ServerKeepAlive);
                Add(text, "responseInformation", p.ResponseInformation);
                Add(text, "serverReference", p.ServerReference);
                Add(text, "authMethod", p.AuthenticationMethod);
                Add(text, "authData", Bytes(p.AuthenticationData));
                Add(text, "user properties", UserProperties(p.UserProperties));
                break;
            case PublishPacket p:
                Add(text, "topic", p.GetTopicName());
                Add(text, "id", p.PacketIdentifier);
                Add(text, "qos", p.QoS);
                Add(text, "dup", p.Dup);
                Add(text, "retain", p.Retain);
                Add(text, "payload", Hex.Of(p.Payload.Span));
                if (p.Properties is { } properties)
                {
                    Add(text, "format", properties.PayloadFormatIndicator);
                    Add(text, "expiry", properties.MessageExpiryInterval);
                    Add(text, "alias", properties.TopicAlias);
                    Add(text, "responseTopic", properties.ResponseTopic);
                    Add(text, "correlation", Bytes(properties.CorrelationData));
                    Add(text, "subscriptionIds", string.Join(",", properties.SubscriptionIdentifiers));
                    Add(text, "contentType", properties.ContentType);
                    Add(text, "user properties", UserProperties(properties.UserProperties));
                }
                else
                {
                    Add(text, "properties", "none");
                }

                break;
            case PublishAcknowledgementPacket p:
                Add(text, "id", p.PacketIdentifier);
                Add(text, "reason", p.ReasonCode);
                Add(text, "reasonString", p.ReasonString);
                Add(text, "user properties", UserProperties(p.UserProperties));
                break;
            case SubscribePacket p:
                Add(text, "id", p.PacketIdentifier);
                Add(text, "subscriptionId", p.SubscriptionIdentifier);
                Add(text, "subscriptions", string.Join(";", p.Subscriptions));
                Add(text, "user properties", UserProperties(p.UserProperties));
                break;
            case SubAckPacket p:
                Add(text, "id", p.PacketIdentifier);
                Add(text, "codes", string.Join(",", p.ReasonCodes));
                Add(text, "reasonString", p.ReasonString);
                Add(text, "user properties", UserProperties(p.UserProperties));
                break;
            case UnsubscribePacket p:
                Add(text, "id", p.PacketIdentifier);
                Add(text, "filters", string.Join(";", p.TopicFilters));
                Add(text, "user properties", UserProperties(p.UserProperties));
                break;
            case UnsubAckPacket p:
                Add(text, "id", p.PacketIdentifier);
                Add(text, "codes", string.Join(",", p.ReasonCodes));
                Add(text, "reasonString", p.ReasonString);
                Add(text, "user properties", UserProperties(p.UserProperties));
                break;
            case DisconnectPacket p:
                Add(text, "reason", p.ReasonCode);
                Add(text, "sessionExpiry", p.SessionExpiryInterval);
                Add(text, "reasonString", p.ReasonString);
                Add(text, "serverReference", p.ServerReference);
                Add(text, "user properties", UserProperties(p.UserProperties));
                break;
            case AuthPacket p:
                Add(text, "reason", p.ReasonCode);
                Add(text, "authMethod", p.AuthenticationMethod);
                Add(text, "authData", Bytes(p.AuthenticationData));
                Add(text, "reasonString", p.ReasonString);
                Add(text, "user properties", UserProperties(p.UserProperties));
                break;
            case PingReqPacket or PingRespPacket:
                break;
            default:
                throw new InvalidOperationException(packet.GetType().Name);
        }

        return text.ToString();
    }

    private static void Add(StringBuilder text, string name, object? value) => text.Append(name).Append('=').Append(value?.ToString() ?? "null").Append(' ');

    private static string? Bytes(byte[]? value) => value is null ? null : Hex.Of(value);

    private static string UserProperties(IReadOnlyList<UserProperty> properties) => string.Join(",", properties.Select(p => $"{p.Name}:{p.Value}"));
}

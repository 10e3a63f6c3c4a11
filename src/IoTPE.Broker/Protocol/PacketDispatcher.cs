using IoTPE.Broker.Connections;
using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Protocol;

/// <summary>
/// Decodes each packet a connected client sends and hands it to the handler for its type, as the
/// specification's chapter 3 lists them. Any decode error ends the connection with the reason code
/// the specification requires.
/// </summary>
internal sealed class PacketDispatcher
{
    private readonly BrokerState _state;
    private readonly ConnectHandler _connect;
    private readonly PublishHandler _publish;
    private readonly DeliverySender _sender;
    private readonly SubscribeHandler _subscribe;
    private readonly DisconnectHandler _disconnect;

    public PacketDispatcher(BrokerState state, ConnectHandler connect, PublishHandler publish, DeliverySender sender, SubscribeHandler subscribe, DisconnectHandler disconnect)
    {
        _state = state;
        _connect = connect;
        _publish = publish;
        _sender = sender;
        _subscribe = subscribe;
        _disconnect = disconnect;
    }

    /// <summary>The first packet (CONNECT): authenticates outside the broker lock.</summary>
    public ValueTask<bool> ConnectAsync(NetworkConnection connection, PacketFrame frame) => _connect.HandleAsync(connection, frame);

    /// <summary>Handles one packet of a connected client, under the broker lock. Returns false when the connection must end.</summary>
    public bool Dispatch(NetworkConnection connection, in PacketFrame frame)
    {
        MqttProtocolVersion version = connection.ProtocolVersion;
        Session session = connection.Session!;
        MqttDecodeError error;
        // An acknowledgement in its two-byte form (every 3.1.1 one, a 5.0 Success): its identifier is
        // read without building a packet object, once per QoS 1 message and three times per QoS 2 one.
        if ((frame.Type is PacketType.PubAck or PacketType.PubRec or PacketType.PubRel or PacketType.PubComp) &&
            PublishAcknowledgementPacket.TryReadShortest(frame, frame.Type, out ushort acknowledged))
        {
            return Acknowledge(connection, session, frame.Type, acknowledged, ReasonCode.Success);
        }
        switch (frame.Type)
        {
            case PacketType.Publish:
                if (!PublishPacket.TryDecode(frame, version, out PublishPacket publish, out error))
                {
                    break;
                }
                connection.RateLimiter.Count();
                return _publish.Handle(connection, publish);

            case PacketType.PubAck:
                if (!PubAckPacket.TryDecode(frame, version, out PubAckPacket? pubAck, out error))
                {
                    break;
                }
                return Acknowledge(connection, session, frame.Type, pubAck.PacketIdentifier, pubAck.ReasonCode);

            case PacketType.PubRec:
                if (!PubRecPacket.TryDecode(frame, version, out PubRecPacket? pubRec, out error))
                {
                    break;
                }
                return Acknowledge(connection, session, frame.Type, pubRec.PacketIdentifier, pubRec.ReasonCode);

            case PacketType.PubRel:
                if (!PubRelPacket.TryDecode(frame, version, out PubRelPacket? pubRel, out error))
                {
                    break;
                }
                return Acknowledge(connection, session, frame.Type, pubRel.PacketIdentifier, pubRel.ReasonCode);

            case PacketType.PubComp:
                if (!PubCompPacket.TryDecode(frame, version, out PubCompPacket? pubComp, out error))
                {
                    break;
                }
                return Acknowledge(connection, session, frame.Type, pubComp.PacketIdentifier, pubComp.ReasonCode);

            case PacketType.Subscribe:
                if (!SubscribePacket.TryDecode(frame, version, out SubscribePacket? subscribe, out error))
                {
                    break;
                }
                return _subscribe.Handle(connection, session, subscribe);

            case PacketType.Unsubscribe:
                if (!UnsubscribePacket.TryDecode(frame, version, out UnsubscribePacket? unsubscribe, out error))
                {
                    break;
                }
                _subscribe.HandleUnsubscribe(connection, session, unsubscribe);
                return true;

            case PacketType.PingReq:
                if (!PingReqPacket.TryDecode(frame, version, out _, out error))
                {
                    break;
                }
                connection.Send(PingRespPacket.Instance);
                return true;

            case PacketType.Disconnect:
                if (!DisconnectPacket.TryDecode(frame, version, out DisconnectPacket? disconnect, out error))
                {
                    break;
                }
                return _disconnect.Handle(connection, disconnect);

            case PacketType.Connect:
                // §3.1.0-2: a second CONNECT is a Protocol Error.
                connection.ProtocolViolation(ReasonCode.ProtocolError, "second CONNECT on the same connection");
                return false;

            case PacketType.Auth:
                connection.ProtocolViolation(ReasonCode.ProtocolError, "AUTH without an authentication method (enhanced authentication is not supported)");
                return false;

            default:
                connection.ProtocolViolation(ReasonCode.ProtocolError, $"{frame.Type} is sent by servers, not clients");
                return false;
        }
        connection.ProtocolViolation(error.ReasonCode, $"{frame.Type}: {error.Message}");
        return false;
    }

    /// <summary>The read loop ended.</summary>
    public void OnConnectionLost(NetworkConnection connection, string reason) => _disconnect.OnConnectionLost(connection, reason);

    private bool Acknowledge(NetworkConnection connection, Session session, PacketType type, ushort packetIdentifier, ReasonCode reasonCode)
    {
        switch (type)
        {
            case PacketType.PubAck:
                _sender.OnPubAck(session, packetIdentifier);
                break;
            case PacketType.PubRec:
                _sender.OnPubRec(session, packetIdentifier, reasonCode);
                break;
            case PacketType.PubRel:
                _publish.HandlePubRel(connection, packetIdentifier);
                break;
            default:
                _sender.OnPubComp(session, packetIdentifier);
                break;
        }
        return true;
    }
}

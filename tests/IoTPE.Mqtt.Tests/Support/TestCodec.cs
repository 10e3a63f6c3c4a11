using System.Buffers;

namespace IoTPE.Mqtt.Tests;

/// <summary>Frames, decodes any packet type and encodes, the way a broker's read loop would.</summary>
internal static class TestCodec
{
    public static readonly MqttProtocolVersion[] Versions = [MqttProtocolVersion.V310, MqttProtocolVersion.V311, MqttProtocolVersion.V500];

    /// <summary>Frames then decodes; the result is a value either way (any exception escapes and fails the test).</summary>
    public static bool TryDecode(in ReadOnlySequence<byte> bytes, MqttProtocolVersion version, out IMqttPacket? packet, out MqttDecodeError error)
    {
        packet = null;
        FrameStatus status = PacketFramer.TryReadFrame(bytes, PacketFramer.ProtocolMaximumPacketSize, out PacketFrame frame, out SequencePosition consumed, out error);
        if (status == FrameStatus.NeedMoreData)
        {
            error = new MqttDecodeError(ReasonCode.MalformedPacket, "incomplete");
            return false;
        }

        if (status == FrameStatus.Error)
        {
            return false;
        }

        Assert.Equal(bytes.Length, bytes.Slice(0, consumed).Length + bytes.Slice(consumed).Length);
        return TryDecode(frame, version, out packet, out error);
    }

    /// <summary>Decodes a frame of any type.</summary>
    public static bool TryDecode(in PacketFrame frame, MqttProtocolVersion version, out IMqttPacket? packet, out MqttDecodeError error)
    {
        packet = null;
        bool ok;
        switch (frame.Type)
        {
            case PacketType.Connect:
                ok = ConnectPacket.TryDecode(frame, out ConnectPacket? connect, out error, out _);
                packet = connect;
                break;
            case PacketType.ConnAck:
                ok = ConnAckPacket.TryDecode(frame, version, out ConnAckPacket? connAck, out error);
                packet = connAck;
                break;
            case PacketType.Publish:
                ok = PublishPacket.TryDecode(frame, version, out PublishPacket publish, out error);
                packet = ok ? publish : null;
                break;
            case PacketType.PubAck:
                ok = PubAckPacket.TryDecode(frame, version, out PubAckPacket? pubAck, out error);
                packet = pubAck;
                break;
            case PacketType.PubRec:
                ok = PubRecPacket.TryDecode(frame, version, out PubRecPacket? pubRec, out error);
                packet = pubRec;
                break;
            case PacketType.PubRel:
                ok = PubRelPacket.TryDecode(frame, version, out PubRelPacket? pubRel, out error);
                packet = pubRel;
                break;
            case PacketType.PubComp:
                ok = PubCompPacket.TryDecode(frame, version, out PubCompPacket? pubComp, out error);
                packet = pubComp;
                break;
            case PacketType.Subscribe:
                ok = SubscribePacket.TryDecode(frame, version, out SubscribePacket? subscribe, out error);
                packet = subscribe;
                break;
            case PacketType.SubAck:
                ok = SubAckPacket.TryDecode(frame, version, out SubAckPacket? subAck, out error);
                packet = subAck;
                break;
            case PacketType.Unsubscribe:
                ok = UnsubscribePacket.TryDecode(frame, version, out UnsubscribePacket? unsubscribe, out error);
                packet = unsubscribe;
                break;
            case PacketType.UnsubAck:
                ok = UnsubAckPacket.TryDecode(frame, version, out UnsubAckPacket? unsubAck, out error);
                packet = unsubAck;
                break;
            case PacketType.PingReq:
                ok = PingReqPacket.TryDecode(frame, version, out PingReqPacket? pingReq, out error);
                packet = pingReq;
                break;
            case PacketType.PingResp:
                ok = PingRespPacket.TryDecode(frame, version, out PingRespPacket? pingResp, out error);
                packet = pingResp;
                break;
            case PacketType.Disconnect:
                ok = DisconnectPacket.TryDecode(frame, version, out DisconnectPacket? disconnect, out error);
                packet = disconnect;
                break;
            case PacketType.Auth:
                ok = AuthPacket.TryDecode(frame, version, out AuthPacket? auth, out error);
                packet = auth;
                break;
            default:
                throw new InvalidOperationException($"The framer returned packet type {frame.Type}.");
        }

        Assert.Equal(ok, packet is not null);
        return ok;
    }

    public static IMqttPacket Decode(byte[] bytes, MqttProtocolVersion version)
    {
        bool ok = TryDecode(new ReadOnlySequence<byte>(bytes), version, out IMqttPacket? packet, out MqttDecodeError error);
        Assert.True(ok, $"{Hex.Of(bytes)}: {error}");
        return packet!;
    }

    public static MqttDecodeError DecodeError(byte[] bytes, MqttProtocolVersion version)
    {
        bool ok = TryDecode(new ReadOnlySequence<byte>(bytes), version, out _, out MqttDecodeError error);
        Assert.False(ok, $"{Hex.Of(bytes)} decoded but should not");
        return error;
    }

    public static byte[] Encode(IMqttPacket packet, MqttProtocolVersion version)
    {
        int size = packet.GetEncodedSize(version);
        byte[] buffer = new byte[size];
        int written = packet.Encode(buffer, version);
        Assert.Equal(size, written);
        return buffer;
    }
}

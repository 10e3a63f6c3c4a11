using System.Buffers;

namespace IoTPE.Mqtt.Tests;

/// <summary>One packet recorded by Vectors/capture.sh.</summary>
internal sealed record RecordedPacket(string File, int Line, string Direction, int Connection, byte[] Bytes, MqttProtocolVersion Version)
{
    public override string ToString() => $"{File}:{Line} {Direction} #{Connection} {Hex.Of(Bytes)}";
}

/// <summary>Reads the recorded vectors: "c2s|s2c connection hex" per line; each connection's version comes from its CONNECT.</summary>
internal static class VectorFile
{
    public static IReadOnlyList<string> Names { get; } =
        ["mosquitto-v311", "mosquitto-v31", "mosquitto-v5", "mosquitto-ping", "mqttjs-v311", "mqttjs-v5"];

    public static IReadOnlyList<RecordedPacket> Load(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Vectors", name + ".txt");
        var versions = new Dictionary<int, MqttProtocolVersion>();
        var packets = new List<RecordedPacket>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            string[] parts = line.Split(' ');
            int connection = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            byte[] bytes = Hex.Parse(parts[2]);
            if (bytes[0] >> 4 == (int)PacketType.Connect)
            {
                var frame = new PacketFrame(PacketType.Connect, 0, new ReadOnlySequence<byte>(bytes).Slice(2));
                Assert.True(ConnectPacket.TryDecode(frame, out ConnectPacket? connect, out MqttDecodeError error, out _), error.ToString());
                versions[connection] = connect.ProtocolVersion;
            }

            packets.Add(new RecordedPacket(name, lineNumber, parts[0], connection, bytes, versions[connection]));
        }

        return packets;
    }

    /// <summary>The <paramref name="index"/>-th packet of type <typeparamref name="T"/> sent in one direction of one connection.</summary>
    public static T Find<T>(string name, string direction, int connection, int index = 0)
        where T : IMqttPacket
    {
        RecordedPacket recorded = Load(name)
            .Where(p => p.Direction == direction && p.Connection == connection)
            .Where(p => p.Bytes[0] >> 4 == (int)PacketTypeOf<T>())
            .ElementAt(index);
        return (T)TestCodec.Decode(recorded.Bytes, recorded.Version);
    }

    private static PacketType PacketTypeOf<T>() => typeof(T).Name switch
    {
        nameof(ConnectPacket) => PacketType.Connect,
        nameof(ConnAckPacket) => PacketType.ConnAck,
        nameof(PublishPacket) => PacketType.Publish,
        nameof(PubAckPacket) => PacketType.PubAck,
        nameof(PubRecPacket) => PacketType.PubRec,
        nameof(PubRelPacket) => PacketType.PubRel,
        nameof(PubCompPacket) => PacketType.PubComp,
        nameof(SubscribePacket) => PacketType.Subscribe,
        nameof(SubAckPacket) => PacketType.SubAck,
        nameof(UnsubscribePacket) => PacketType.Unsubscribe,
        nameof(UnsubAckPacket) => PacketType.UnsubAck,
        nameof(PingReqPacket) => PacketType.PingReq,
        nameof(PingRespPacket) => PacketType.PingResp,
        nameof(DisconnectPacket) => PacketType.Disconnect,
        nameof(AuthPacket) => PacketType.Auth,
        _ => throw new ArgumentOutOfRangeException(typeof(T).Name),
    };
}

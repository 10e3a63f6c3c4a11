using System.Buffers;
using BenchmarkDotNet.Attributes;

namespace IoTPE.Mqtt.Benchmarks;

/// <summary>Encode and decode (framing included) of a QoS 1 PUBLISH with a 64-byte payload, in 3.1.1 and 5.0.</summary>
[MemoryDiagnoser]
public class PublishBenchmarks
{
    private PublishPacket _packet;
    private byte[] _wire = [];
    private byte[] _output = [];

    /// <summary>The protocol version under test.</summary>
    [Params(MqttProtocolVersion.V311, MqttProtocolVersion.V500)]
    public MqttProtocolVersion Version { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _packet = new PublishPacket("sensors/device-42/temperature", new byte[64])
        {
            QoS = QualityOfService.AtLeastOnce,
            PacketIdentifier = 4242,
        };
        _wire = new byte[_packet.GetEncodedSize(Version)];
        _packet.Encode(_wire, Version);
        _output = new byte[_wire.Length];
    }

    /// <summary>Size the packet and write it into a caller's buffer.</summary>
    [Benchmark]
    public int Encode() => _packet.GetEncodedSize(Version) + _packet.Encode(_output, Version);

    /// <summary>Frame the bytes (fixed header, size check) and decode the PUBLISH.</summary>
    [Benchmark]
    public int Decode()
    {
        var buffer = new ReadOnlySequence<byte>(_wire);
        PacketFramer.TryReadFrame(buffer, 65536, out PacketFrame frame, out _, out _);
        PublishPacket.TryDecode(frame, Version, out PublishPacket packet, out _);
        return packet.Payload.Length + packet.PacketIdentifier;
    }
}

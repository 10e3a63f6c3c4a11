using System.Buffers;
using System.Text;

namespace IoTPE.Mqtt.Tests;

/// <summary>The data representations of spec 1.5 and the allocation-free PUBLISH path.</summary>
public sealed class EncodingTests
{
    [Theory]
    [InlineData(0, "00")]
    [InlineData(127, "7f")]
    [InlineData(128, "8001")]
    [InlineData(16_383, "ff7f")]
    [InlineData(16_384, "808001")]
    [InlineData(2_097_151, "ffff7f")]
    [InlineData(2_097_152, "80808001")]
    [InlineData(268_435_455, "ffffff7f")]
    public void Variable_byte_integers_use_the_spec_table_1_5_5(int value, string hex)
    {
        byte[] buffer = new byte[4];
        int written = VariableByteInteger.Write(buffer, value);
        Assert.Equal(hex, Hex.Of(buffer.AsSpan(0, written)));
        Assert.Equal(written, VariableByteInteger.GetSize(value));
        Assert.Equal(FrameStatus.Complete, VariableByteInteger.TryRead(Hex.Parse(hex), out int read, out int size));
        Assert.Equal(value, read);
        Assert.Equal(written, size);
    }

    [Theory]
    [InlineData("", FrameStatus.NeedMoreData)]
    [InlineData("80", FrameStatus.NeedMoreData)]
    [InlineData("ffffff", FrameStatus.NeedMoreData)]
    [InlineData("ffffffff", FrameStatus.Error)]
    [InlineData("ffffffff01", FrameStatus.Error)]
    [InlineData("8000", FrameStatus.Error)]
    [InlineData("ff8000", FrameStatus.Error)]
    public void Variable_byte_integer_errors(string hex, FrameStatus expected) =>
        Assert.Equal(expected, VariableByteInteger.TryRead(Hex.Parse(hex), out _, out _));

    [Fact]
    public void Variable_byte_integer_out_of_range_is_a_caller_error()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => VariableByteInteger.GetSize(268_435_456));
        Assert.Throws<ArgumentOutOfRangeException>(() => VariableByteInteger.GetSize(-1));
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("61", true)]
    [InlineData("c3a9", true)]
    [InlineData("f09d849e", true)]
    [InlineData("efbbbf", true)]
    [InlineData("00", false)]
    [InlineData("ff", false)]
    [InlineData("c0af", false)]
    [InlineData("eda080", false)]
    [InlineData("edbfbf", false)]
    [InlineData("f4908080", false)]
    [InlineData("c3", false)]
    public void Utf8_strings_follow_spec_1_5_4(string hex, bool valid) => Assert.Equal(valid, MqttString.IsValid(Hex.Parse(hex)));

    [Fact]
    public void String_checks_surrogates_null_and_length()
    {
        Assert.True(MqttString.IsValid("a𝄞é"));
        Assert.False(MqttString.IsValid("a\ud834"));
        Assert.False(MqttString.IsValid("\udd1e"));
        Assert.False(MqttString.IsValid("a\0"));
        Assert.True(MqttString.TryGetByteCount("a𝄞é", out int count));
        Assert.Equal(Encoding.UTF8.GetByteCount("a𝄞é"), count);
        Assert.True(MqttString.IsValid(new string('€', 21845)));
        Assert.False(MqttString.IsValid(new string('€', 21846)));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public void Decoding_and_encoding_a_64_byte_qos1_publish_allocates_nothing(MqttProtocolVersion version)
    {
        var original = new PublishPacket("sensors/device-42/temperature", new byte[64]) { QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 1 };
        byte[] wire = new byte[original.GetEncodedSize(version)];
        original.Encode(wire, version);
        byte[] output = new byte[wire.Length];

        int Run(int iterations)
        {
            int total = 0;
            for (int i = 0; i < iterations; i++)
            {
                var buffer = new ReadOnlySequence<byte>(wire);
                PacketFramer.TryReadFrame(buffer, 1024, out PacketFrame frame, out _, out _);
                PublishPacket.TryDecode(frame, version, out PublishPacket packet, out _);
                total += packet.Encode(output, version);
            }

            return total;
        }

        // Warm up, and give tiered compilation time to install optimized code: the runtime may allocate a few bytes
        // once when it switches a running loop to new code (on-stack replacement), which is not the codec's doing.
        Run(2000);
        Thread.Sleep(200);
        Run(2000);
        long[] allocated = new long[3];
        for (int round = 0; round < allocated.Length; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            int written = Run(10_000);
            allocated[round] = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(10_000 * wire.Length, written);
        }

        Assert.Contains(0L, allocated);
        Assert.All(allocated, bytes => Assert.True(bytes < 10_000, $"{bytes} bytes for 10,000 packets"));
        Assert.Equal(wire, output);
    }

    [Fact]
    public void Publish_from_one_segment_is_a_view_and_from_several_is_one_copy()
    {
        byte[] wire = TestCodec.Encode(new PublishPacket("t", new byte[] { 1, 2, 3 }) { QoS = QualityOfService.AtLeastOnce, PacketIdentifier = 9 }, MqttProtocolVersion.V311);
        PacketFramer.TryReadFrame(new ReadOnlySequence<byte>(wire), 100, out PacketFrame frame, out _, out _);
        Assert.True(PublishPacket.TryDecode(frame, MqttProtocolVersion.V311, out PublishPacket view, out _));
        wire[^1] = 42;
        Assert.Equal(42, view.Payload.Span[^1]);

        ReadOnlySequence<byte> segmented = SegmentedSequence.Create(wire, [4, 4]);
        PacketFramer.TryReadFrame(segmented, 100, out frame, out _, out _);
        Assert.True(PublishPacket.TryDecode(frame, MqttProtocolVersion.V311, out PublishPacket copy, out _));
        Assert.Equal("t", copy.GetTopicName());
        Assert.Equal(new byte[] { 1, 2, 42 }, copy.Payload.ToArray());
    }
}

using System.Buffers;
using FsCheck;
using FsCheck.Fluent;

namespace IoTPE.Mqtt.Tests;

/// <summary>Splitting byte streams into packets (spec 2.1): partial packets, several per read, size limits.</summary>
public sealed class FramingTests
{
    /// <summary>
    /// Feeds <paramref name="stream"/> in chunks like socket reads into a multi-segment buffer and frames it like a
    /// broker's read loop, returning each framed packet's bytes.
    /// </summary>
    internal static List<byte[]> FrameStream(byte[] stream, IEnumerable<int> chunkSizes, int maximumPacketSize)
    {
        var framed = new List<byte[]>();
        var pending = new List<byte[]>();
        int offset = 0;
        using IEnumerator<int> sizes = chunkSizes.GetEnumerator();
        while (offset < stream.Length)
        {
            int size = sizes.MoveNext() ? Math.Clamp(sizes.Current, 1, stream.Length - offset) : stream.Length - offset;
            pending.Add(stream.AsSpan(offset, size).ToArray());
            offset += size;
            if (pending.Count > 8)
            {
                // Keep the segment count bounded (as a pipe's pooled segments would be) so long waits stay linear.
                byte[] merged = pending.Take(pending.Count - 4).SelectMany(chunk => chunk).ToArray();
                pending.RemoveRange(0, pending.Count - 4);
                pending.Insert(0, merged);
            }

            ReadOnlySequence<byte> buffer = SegmentedSequence.FromChunks(pending);
            while (true)
            {
                FrameStatus status = PacketFramer.TryReadFrame(buffer, maximumPacketSize, out PacketFrame frame, out SequencePosition consumed, out MqttDecodeError error);
                if (status == FrameStatus.Error)
                {
                    throw new InvalidOperationException(error.ToString());
                }

                if (status == FrameStatus.NeedMoreData)
                {
                    Assert.Equal(buffer.Start, consumed);
                    break;
                }

                byte[] packet = buffer.Slice(0, consumed).ToArray();
                Assert.Equal(frame.Body.ToArray(), packet[^frame.RemainingLength..]);
                Assert.Equal((int)frame.Type, packet[0] >> 4);
                framed.Add(packet);
                buffer = buffer.Slice(consumed);
            }

            pending = [];
            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                if (!segment.IsEmpty)
                {
                    pending.Add(segment.ToArray());
                }
            }
        }

        Assert.Empty(pending);
        return framed;
    }

    private static byte[][] SampleStream()
    {
        var packets = new List<byte[]>();
        foreach ((_, IMqttPacket packet) in SamplePackets.Version5())
        {
            packets.Add(TestCodec.Encode(packet, SamplePackets.VersionFor(packet, MqttProtocolVersion.V500)));
        }

        packets.Add(TestCodec.Encode(new PublishPacket("big", new byte[20_000]), MqttProtocolVersion.V500));
        return packets.ToArray();
    }

    [Fact]
    public void Every_packet_of_one_buffer_is_framed()
    {
        byte[][] packets = SampleStream();
        byte[] stream = packets.SelectMany(p => p).ToArray();
        List<byte[]> framed = FrameStream(stream, [stream.Length], PacketFramer.ProtocolMaximumPacketSize);
        Assert.Equal(packets.Select(p => Hex.Of(p)), framed.Select(p => Hex.Of(p)));
    }

    [Fact]
    public void One_byte_at_a_time_yields_the_same_packets()
    {
        byte[][] packets = SampleStream();
        byte[] stream = packets.SelectMany(p => p).ToArray();
        List<byte[]> framed = FrameStream(stream, Enumerable.Repeat(1, stream.Length), PacketFramer.ProtocolMaximumPacketSize);
        Assert.Equal(packets.Select(p => Hex.Of(p)), framed.Select(p => Hex.Of(p)));
    }

    [Fact]
    public void Random_chunk_sizes_yield_exactly_the_original_packets()
    {
        byte[][] all = SampleStream();
        Gen<(int[] Order, int[] Chunks)> cases =
            from order in Gen.ArrayOf(Gen.Choose(0, all.Length - 1))
            from chunks in Gen.NonEmptyListOf(Gen.Frequency((3, Gen.Choose(1, 8)), (1, Gen.Choose(9, 3000))))
            select (order, chunks.ToArray());
        Prop.ForAll(Arb.From(cases), c =>
        {
            byte[][] packets = c.Order.Select(i => all[i]).ToArray();
            byte[] stream = packets.SelectMany(p => p).ToArray();
            List<byte[]> framed = FrameStream(stream, Cycle(c.Chunks), PacketFramer.ProtocolMaximumPacketSize);
            return packets.Select(p => Hex.Of(p)).SequenceEqual(framed.Select(p => Hex.Of(p)));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(150).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Maximum_packet_size_is_enforced_before_the_body_arrives()
    {
        // PUBLISH announcing 1000 bytes; only the fixed header has arrived.
        var header = new ReadOnlySequence<byte>(Hex.Parse("30 e8 07"));
        Assert.Equal(FrameStatus.Error, PacketFramer.TryReadFrame(header, 100, out _, out SequencePosition consumed, out MqttDecodeError error));
        Assert.Equal(ReasonCode.PacketTooLarge, error.ReasonCode);
        Assert.Equal(header.Start, consumed);

        // The limit counts the whole packet: 3 header bytes + 1000.
        Assert.Equal(FrameStatus.NeedMoreData, PacketFramer.TryReadFrame(header, 1003, out _, out _, out _));
        Assert.Equal(FrameStatus.Error, PacketFramer.TryReadFrame(header, 1002, out _, out _, out _));
        byte[] full = new byte[1003];
        Hex.Parse("30 e8 07 00 01 61").CopyTo(full, 0);
        Assert.Equal(FrameStatus.Complete, PacketFramer.TryReadFrame(new ReadOnlySequence<byte>(full), 1003, out PacketFrame frame, out _, out _));
        Assert.Equal(1000, frame.RemainingLength);
    }

    [Fact]
    public void Fixed_header_alone_is_enough_to_know_type_flags_and_size()
    {
        Assert.Equal(FrameStatus.Complete, PacketFramer.TryReadFixedHeader(new ReadOnlySequence<byte>(Hex.Parse("3b 80 80 01")), int.MaxValue, out FixedHeader header, out _));
        Assert.Equal(PacketType.Publish, header.Type);
        Assert.Equal(0x0b, header.Flags);
        Assert.Equal(16384, header.RemainingLength);
        Assert.Equal(4, header.HeaderLength);
        Assert.Equal(16388, header.PacketLength);
    }

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("30 80")]
    [InlineData("30 ff ff ff")]
    [InlineData("30 05 00 01")]
    public void Partial_packets_need_more_data(string hex)
    {
        var buffer = new ReadOnlySequence<byte>(Hex.Parse(hex));
        Assert.Equal(FrameStatus.NeedMoreData, PacketFramer.TryReadFrame(buffer, PacketFramer.ProtocolMaximumPacketSize, out _, out SequencePosition consumed, out _));
        Assert.Equal(buffer.Start, consumed);
    }

    [Fact]
    public void Header_split_across_segments_is_read()
    {
        byte[] packet = TestCodec.Encode(new PublishPacket("t", new byte[200]), MqttProtocolVersion.V311);
        ReadOnlySequence<byte> buffer = SegmentedSequence.Create(packet, [1, 1, 1, 5]);
        Assert.Equal(FrameStatus.Complete, PacketFramer.TryReadFrame(buffer, 1000, out PacketFrame frame, out SequencePosition consumed, out _));
        Assert.Equal(packet.Length, buffer.Slice(0, consumed).Length);
        Assert.Equal(packet.Length - 3, frame.RemainingLength);
        Assert.False(frame.Body.IsSingleSegment);
    }

    [Fact]
    public void Invalid_maximum_packet_size_is_a_caller_error()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PacketFramer.TryReadFrame(default, 1, out _, out _, out _));
    }

    [Theory]
    [InlineData(PacketType.Publish, 0x0f, true)]
    [InlineData(PacketType.PubRel, 0x02, true)]
    [InlineData(PacketType.PubRel, 0x00, false)]
    [InlineData(PacketType.Subscribe, 0x02, true)]
    [InlineData(PacketType.Subscribe, 0x03, false)]
    [InlineData(PacketType.Unsubscribe, 0x02, true)]
    [InlineData(PacketType.Connect, 0x00, true)]
    [InlineData(PacketType.ConnAck, 0x02, false)]
    [InlineData(PacketType.PubAck, 0x08, false)]
    [InlineData(PacketType.Disconnect, 0x01, false)]
    public void Reserved_flags_follow_spec_table_2_2(PacketType type, byte flags, bool valid) =>
        Assert.Equal(valid, PacketFramer.HasValidFlags(type, flags));

    private static IEnumerable<int> Cycle(int[] values)
    {
        while (true)
        {
            foreach (int value in values)
            {
                yield return value;
            }
        }
    }
}

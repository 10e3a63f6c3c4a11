using System.Buffers;

namespace IoTPE.Mqtt.Tests;

/// <summary>
/// The broker's fast read of a QoS 1/2 acknowledgement's packet identifier: it takes exactly the
/// frames whose full decode is the identifier alone, and leaves every other frame — longer 5.0
/// forms, invalid ones — to the full decoder, which keeps reporting what is wrong.
/// </summary>
public sealed class AcknowledgementShortestFormTests
{
    [Theory]
    [InlineData("40 02 12 34", PacketType.PubAck, 0x1234)]
    [InlineData("50 02 ff fe", PacketType.PubRec, 0xfffe)]
    [InlineData("62 02 00 01", PacketType.PubRel, 1)]
    [InlineData("70 02 80 00", PacketType.PubComp, 0x8000)]
    public void The_identifier_of_the_two_byte_form_is_read_as_the_full_decode_reads_it(string hex, PacketType type, int identifier)
    {
        PacketFrame frame = Frame(hex);

        Assert.True(PublishAcknowledgementPacket.TryReadShortest(frame, type, out ushort read));
        Assert.Equal(identifier, read);
        Assert.True(TestCodec.TryDecode(frame, MqttProtocolVersion.V500, out IMqttPacket? packet, out _));
        Assert.Equal(identifier, ((PublishAcknowledgementPacket)packet!).PacketIdentifier);
    }

    [Theory]
    [InlineData("40 02 00 00", PacketType.PubAck)] // identifier 0 (spec 2.2.1): the decoder reports it
    [InlineData("40 03 00 01 10", PacketType.PubAck)] // 5.0 with a reason code (No matching subscribers)
    [InlineData("40 04 00 01 00 00", PacketType.PubAck)] // 5.0 with an empty property list
    [InlineData("50 02 00 01", PacketType.PubAck)] // a PUBREC is not a PUBACK
    public void Any_other_frame_is_left_to_the_full_decoder(string hex, PacketType type)
    {
        Assert.False(PublishAcknowledgementPacket.TryReadShortest(Frame(hex), type, out _));
    }

    [Theory]
    [InlineData(PacketType.PubAck, 0x1)] // reserved flags set (spec 2.1.3)
    [InlineData(PacketType.PubRel, 0x0)] // PUBREL's flags must be 0010
    public void A_frame_with_wrong_flags_is_left_to_the_full_decoder(PacketType type, byte flags)
    {
        // The framer refuses such frames first; the fast read does not rely on it.
        var frame = new PacketFrame(type, flags, new ReadOnlySequence<byte>(Hex.Parse("00 01")));

        Assert.False(PublishAcknowledgementPacket.TryReadShortest(frame, type, out _));
    }

    [Fact]
    public void A_frame_split_across_segments_is_left_to_the_full_decoder()
    {
        ReadOnlySequence<byte> bytes = SegmentedSequence.Create(Hex.Parse("40 02 12 34"), [3]);
        Assert.Equal(FrameStatus.Complete, PacketFramer.TryReadFrame(bytes, PacketFramer.ProtocolMaximumPacketSize, out PacketFrame frame, out _, out _));

        Assert.False(PublishAcknowledgementPacket.TryReadShortest(frame, PacketType.PubAck, out _));
        Assert.True(PubAckPacket.TryDecode(frame, MqttProtocolVersion.V311, out PubAckPacket? packet, out _));
        Assert.Equal(0x1234, packet.PacketIdentifier);
    }

    private static PacketFrame Frame(string hex)
    {
        var bytes = new ReadOnlySequence<byte>(Hex.Parse(hex));
        Assert.Equal(FrameStatus.Complete, PacketFramer.TryReadFrame(bytes, PacketFramer.ProtocolMaximumPacketSize, out PacketFrame frame, out _, out _));
        return frame;
    }
}

using System.Buffers;
using FsCheck;
using FsCheck.Fluent;

namespace IoTPE.Mqtt.Tests;

/// <summary>
/// Property-based fuzzing with FsCheck (bounded case counts, about a second in total): random bytes and random
/// mutations of valid packets (bit flips, truncation, inserted, deleted, duplicated bytes, wrong lengths). Decoding
/// must only ever give a packet or an <see cref="MqttDecodeError"/>: an exception fails the test. Inputs are
/// exact-length arrays and one-array-per-segment sequences, so a read past the input would throw; the same bytes
/// followed by unrelated bytes, and split into random segments, must decode identically. Anything accepted must
/// re-encode to exactly the bytes it came from.
/// </summary>
public sealed class FuzzTests
{
    private static readonly MqttProtocolVersion[] DecodeVersions = [MqttProtocolVersion.V311, MqttProtocolVersion.V500];

    private static readonly (byte[] Bytes, MqttProtocolVersion Version)[] Corpus = BuildCorpus();

    private static readonly Gen<byte> AnyByte = Gen.Choose(0, 255).Select(i => (byte)i);

    private static readonly Gen<int[]> Splits = Gen.ArrayOf(Gen.Choose(0, 12));

    [Fact]
    public void Random_bytes_decode_to_a_packet_or_an_error()
    {
        Gen<(byte[] Input, MqttProtocolVersion Version, int[] Splits, byte[] Trailing)> cases =
            from type in Gen.Choose(0, 15)
            from flags in Gen.Frequency((3, Gen.Constant(-1)), (1, Gen.Choose(0, 15)))
            from body in Gen.ArrayOf(Gen.Frequency((3, AnyByte), (1, Gen.Elements<byte>(0, 1, 2, 0x26, 0x80, 0xff))))
            from fixLength in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
            from version in Gen.Elements(DecodeVersions)
            from splits in Splits
            from trailing in Gen.ArrayOf(AnyByte)
            select (BuildPacket(type, flags, body, fixLength), version, splits, trailing);
        Prop.ForAll(Arb.From(cases), c => DecodesConsistently(c.Input, c.Version, c.Splits, c.Trailing))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(1000).WithEndSize(200).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Mutated_valid_packets_decode_to_a_packet_or_an_error()
    {
        Gen<(int Kind, int Position, int Value)> mutation =
            from kind in Gen.Choose(0, 6)
            from position in Gen.Choose(0, 100_000)
            from value in Gen.Choose(0, 255)
            select (kind, position, value);
        Gen<(byte[] Input, MqttProtocolVersion Version, int[] Splits, byte[] Trailing)> cases =
            from index in Gen.Choose(0, Corpus.Length - 1)
            from mutations in Gen.NonEmptyListOf(mutation).Select(list => list.Take(4).ToArray())
            from fixLength in Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false)))
            from splits in Splits
            from trailing in Gen.ArrayOf(AnyByte)
            select (Mutate(Corpus[index].Bytes, mutations, fixLength), Corpus[index].Version, splits, trailing);
        var outcomes = new List<Outcome>();
        Prop.ForAll(Arb.From(cases), c => DecodesConsistently(c.Input, c.Version, c.Splits, c.Trailing, outcomes))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(4000).WithQuietOnSuccess(true));

        // The mutations reach the packet decoders: some inputs are accepted, and many different rules reject the rest.
        Assert.InRange(outcomes.Count(o => o.Decoded), outcomes.Count / 50, outcomes.Count);
        Assert.InRange(outcomes.Where(o => !o.Decoded).Select(o => o.Error.Message).Distinct().Count(), 20, int.MaxValue);
    }

    [Fact]
    public void Every_truncation_of_every_valid_packet_is_incomplete_or_an_error()
    {
        foreach ((byte[] bytes, MqttProtocolVersion version) in Corpus)
        {
            for (int length = 0; length < bytes.Length; length++)
            {
                byte[] prefix = bytes[..length];
                Assert.True(DecodesConsistently(prefix, version, [1], []));
                Assert.False(Outcome.Of(new ReadOnlySequence<byte>(prefix), version).Decoded);

                // The same prefix presented as a complete frame (Remaining Length fixed up) must fail cleanly too,
                // except where dropping trailing bytes still leaves a valid packet.
                if (length >= 2)
                {
                    byte[] reframed = BuildPacket(bytes[0] >> 4, bytes[0] & 0x0f, BodyOf(bytes)[..Math.Min(length - 1, BodyOf(bytes).Length)], true);
                    Assert.True(DecodesConsistently(reframed, version, [2, 3], [0xff]));
                }
            }
        }
    }

    /// <summary>The decoding result for one input: never an exception.</summary>
    private sealed record Outcome(FrameStatus Framing, long Consumed, bool Decoded, MqttDecodeError Error, string? Description, string? ReEncoded)
    {
        public static Outcome Of(in ReadOnlySequence<byte> input, MqttProtocolVersion version)
        {
            FrameStatus framing = PacketFramer.TryReadFrame(input, PacketFramer.ProtocolMaximumPacketSize, out PacketFrame frame, out SequencePosition end, out MqttDecodeError error);
            long consumed = input.Slice(0, end).Length;
            if (framing != FrameStatus.Complete)
            {
                return new Outcome(framing, consumed, false, error, null, null);
            }

            if (!TestCodec.TryDecode(frame, version, out IMqttPacket? packet, out error))
            {
                Assert.True(error.ReasonCode >= ReasonCode.UnspecifiedError, error.ToString());
                Assert.False(string.IsNullOrEmpty(error.Message));
                return new Outcome(framing, consumed, false, error, null, null);
            }

            MqttProtocolVersion encodeVersion = SamplePackets.VersionFor(packet!, version);
            return new Outcome(framing, consumed, true, default, PacketDescription.Of(packet!), Hex.Of(TestCodec.Encode(packet!, encodeVersion)));
        }
    }

    private static bool DecodesConsistently(byte[] input, MqttProtocolVersion version, int[] splits, byte[] trailing, List<Outcome>? outcomes = null)
    {
        Outcome exact = Outcome.Of(new ReadOnlySequence<byte>(input), version);
        outcomes?.Add(exact);
        Outcome segmented = Outcome.Of(SegmentedSequence.Create(input, splits), version);
        Assert.Equal(exact, segmented);
        if (exact.Framing != FrameStatus.NeedMoreData)
        {
            // Bytes after the packet are never read.
            byte[] followed = [.. input, .. trailing];
            Assert.Equal(exact, Outcome.Of(new ReadOnlySequence<byte>(followed), version));
        }

        if (exact.Decoded)
        {
            // Accepted input re-encodes to the same bytes (property order and short forms are kept) and
            // decodes again to the same fields.
            byte[] reEncoded = Hex.Parse(exact.ReEncoded!);
            Outcome again = Outcome.Of(new ReadOnlySequence<byte>(reEncoded), version);
            Assert.True(again.Decoded, again.Error.ToString());
            Assert.Equal(exact.Description, again.Description);
            Assert.Equal(Hex.Of(input.AsSpan(0, (int)exact.Consumed)), exact.ReEncoded);
        }

        return true;
    }

    private static byte[] Mutate(byte[] packet, (int Kind, int Position, int Value)[] mutations, bool fixLength)
    {
        byte first = packet[0];
        var body = new List<byte>(BodyOf(packet));
        foreach ((int kind, int position, int value) in mutations)
        {
            int at = body.Count == 0 ? 0 : position % body.Count;
            switch (kind)
            {
                case 0 when position % 8 == 0:
                    first ^= (byte)(1 << (value % 8));
                    break;
                case 0 when body.Count > 0:
                    body[at] ^= (byte)(1 << (value % 8));
                    break;
                case 1:
                    body.RemoveRange(position % (body.Count + 1), body.Count - (position % (body.Count + 1)));
                    break;
                case 2:
                    body.Insert(position % (body.Count + 1), (byte)value);
                    break;
                case 3 when body.Count > 0:
                    body.RemoveAt(at);
                    break;
                case 4 when body.Count > 0:
                    body[at] = (byte)value;
                    break;
                case 5 when body.Count > 0:
                    // Duplicate a slice, e.g. a property or a topic filter entry.
                    int length = Math.Min(1 + (value % 12), body.Count - at);
                    body.InsertRange(at, body.GetRange(at, length));
                    break;
                case 6 when body.Count > 0:
                    // A small value in a length position: property lengths, string lengths, counts.
                    body[at] = (byte)(value % 8);
                    break;
            }
        }

        if (fixLength)
        {
            return BuildPacket(first >> 4, first & 0x0f, body.ToArray(), true);
        }

        // Keep the original Remaining Length, now wrong for the body.
        int headerLength = packet.Length - BodyOf(packet).Length;
        byte[] result = [.. packet[..headerLength], .. body];
        result[0] = first;
        return result;
    }

    private static byte[] BodyOf(byte[] packet)
    {
        VariableByteInteger.TryRead(packet.AsSpan(1), out _, out int size);
        return packet[(1 + size)..];
    }

    private static byte[] BuildPacket(int type, int flags, byte[] body, bool fixLength)
    {
        if (flags < 0)
        {
            flags = (PacketType)type switch
            {
                PacketType.PubRel or PacketType.Subscribe or PacketType.Unsubscribe => 0x02,
                PacketType.Publish => (body.Length % 3) << 1,
                _ => 0,
            };
        }

        int length = fixLength ? body.Length : (body.Length * 7 + 3) % 300;
        byte[] packet = new byte[1 + VariableByteInteger.GetSize(length) + body.Length];
        packet[0] = (byte)((type << 4) | flags);
        int offset = 1 + VariableByteInteger.Write(packet.AsSpan(1), length);
        body.CopyTo(packet, offset);
        return packet;
    }

    private static (byte[], MqttProtocolVersion)[] BuildCorpus()
    {
        var corpus = new List<(byte[], MqttProtocolVersion)>();
        foreach ((_, IMqttPacket packet) in SamplePackets.Version5())
        {
            MqttProtocolVersion version = SamplePackets.VersionFor(packet, MqttProtocolVersion.V500);
            corpus.Add((TestCodec.Encode(packet, version), version));
        }

        foreach ((_, IMqttPacket packet) in SamplePackets.Version3())
        {
            MqttProtocolVersion version = SamplePackets.VersionFor(packet, MqttProtocolVersion.V311);
            corpus.Add((TestCodec.Encode(packet, version), version));
        }

        foreach (string file in VectorFile.Names)
        {
            corpus.AddRange(VectorFile.Load(file).Select(p => (p.Bytes, p.Version)));
        }

        return corpus.ToArray();
    }
}

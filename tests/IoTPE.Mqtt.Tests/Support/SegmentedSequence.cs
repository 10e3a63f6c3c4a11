using System.Buffers;

namespace IoTPE.Mqtt.Tests;

/// <summary>Builds multi-segment sequences, each segment in its own exact-length array, like pooled pipe buffers.</summary>
internal static class SegmentedSequence
{
    /// <summary>Splits <paramref name="data"/> into segments of the given sizes (the last segment takes the rest).</summary>
    public static ReadOnlySequence<byte> Create(ReadOnlySpan<byte> data, IEnumerable<int> segmentSizes)
    {
        var chunks = new List<byte[]>();
        int offset = 0;
        foreach (int size in segmentSizes)
        {
            if (offset >= data.Length)
            {
                break;
            }

            int length = Math.Clamp(size, 0, data.Length - offset);
            chunks.Add(data.Slice(offset, length).ToArray());
            offset += length;
        }

        if (offset < data.Length || chunks.Count == 0)
        {
            chunks.Add(data[offset..].ToArray());
        }

        return FromChunks(chunks);
    }

    public static ReadOnlySequence<byte> FromChunks(IReadOnlyList<byte[]> chunks)
    {
        var first = new Segment(chunks[0], 0);
        Segment last = first;
        for (int index = 1; index < chunks.Count; index++)
        {
            last = last.Append(chunks[index]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data, long runningIndex)
        {
            Memory = data;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] data)
        {
            var next = new Segment(data, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

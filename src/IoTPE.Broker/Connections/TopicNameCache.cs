using System.Text;

namespace IoTPE.Broker.Connections;

/// <summary>
/// The topic names a connection published to recently, as strings and UTF-8, so that a client
/// publishing to the same few topics (the usual case) costs no string allocation per PUBLISH.
/// </summary>
internal sealed class TopicNameCache
{
    private const int Capacity = 16;

    private readonly Entry[] _entries = new Entry[Capacity];
    private int _next;

    /// <summary>The topic whose UTF-8 form is <paramref name="utf8"/>.</summary>
    public (string Topic, byte[] Utf8) Get(ReadOnlySpan<byte> utf8)
    {
        foreach (Entry entry in _entries)
        {
            if (entry.Utf8 is not null && utf8.SequenceEqual(entry.Utf8))
            {
                return (entry.Topic, entry.Utf8);
            }
        }
        var added = new Entry(Encoding.UTF8.GetString(utf8), utf8.ToArray());
        _entries[_next] = added;
        _next = (_next + 1) % Capacity;
        return (added.Topic, added.Utf8);
    }

    /// <summary>The UTF-8 form of <paramref name="topic"/>.</summary>
    public byte[] Utf8Of(string topic)
    {
        foreach (Entry entry in _entries)
        {
            if (entry.Utf8 is not null && string.Equals(entry.Topic, topic, StringComparison.Ordinal))
            {
                return entry.Utf8;
            }
        }
        return Encoding.UTF8.GetBytes(topic);
    }

    private readonly record struct Entry(string Topic, byte[] Utf8);
}

using System.Text;

namespace IoTPE.Bridge;

/// <summary>
/// The filters a bridge has subscribed, on each side, as of its last start: a small text file beside its state file
/// (<c>bridge-&lt;name&gt;.db.subscriptions</c>), one line per filter, <c>forward</c> or <c>receive</c>, a tab, and
/// the filter as subscribed (prefix included). Both sessions are persistent and keep a subscription until it is
/// removed, so a filter taken out of the configuration must be unsubscribed by name at the next start; this file is
/// where the bridge finds the names. It is written before anything new is subscribed (old and new filters together)
/// and rewritten once the old ones are gone, each time whole (a temporary file renamed over it), so it never names
/// fewer filters than the sessions hold.
/// </summary>
internal sealed class SubscribedFilters
{
    private const string ForwardKind = "forward";
    private const string ReceiveKind = "receive";

    private readonly string _path;

    public SubscribedFilters(string path) => _path = path;

    /// <summary>The filters recorded for the local session (<c>forward</c>).</summary>
    public HashSet<string> Forward { get; } = new(StringComparer.Ordinal);

    /// <summary>The filters recorded for the remote session (<c>receive</c>).</summary>
    public HashSet<string> Receive { get; } = new(StringComparer.Ordinal);

    /// <summary>Reads the record at <paramref name="path"/>; empty when there is none (a first start).</summary>
    public static SubscribedFilters Read(string path)
    {
        var filters = new SubscribedFilters(path);
        if (!File.Exists(path))
        {
            return filters;
        }
        foreach (string line in File.ReadAllLines(path, Encoding.UTF8))
        {
            int tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab < 0)
            {
                continue;
            }
            string filter = line[(tab + 1)..];
            switch (line[..tab])
            {
                case ForwardKind:
                    filters.Forward.Add(filter);
                    break;
                case ReceiveKind:
                    filters.Receive.Add(filter);
                    break;
            }
        }
        return filters;
    }

    /// <summary>Writes the record whole and durably (a temporary file, synced, renamed over the old one).</summary>
    public void Write()
    {
        var text = new StringBuilder();
        foreach (string filter in Forward.Order(StringComparer.Ordinal))
        {
            text.Append(ForwardKind).Append('\t').Append(filter).Append('\n');
        }
        foreach (string filter in Receive.Order(StringComparer.Ordinal))
        {
            text.Append(ReceiveKind).Append('\t').Append(filter).Append('\n');
        }
        string temporary = _path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(Encoding.UTF8.GetBytes(text.ToString()));
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, _path, overwrite: true);
    }
}

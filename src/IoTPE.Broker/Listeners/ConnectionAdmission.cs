using System.Net;

namespace IoTPE.Broker.Listeners;

/// <summary>
/// Refuses new connections from an address that opens more than the allowed number per second,
/// before any TLS handshake or CONNECT parsing is spent on them.
/// </summary>
internal sealed class ConnectionAdmission
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);
    private readonly int _perSecond;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<IPAddress, (long WindowStart, int Count)> _recent = [];

    public ConnectionAdmission(int perSecond, TimeProvider time)
    {
        _perSecond = perSecond;
        _time = time;
    }

    public bool Admit(IPAddress? address)
    {
        if (_perSecond <= 0 || address is null)
        {
            return true;
        }
        long now = _time.GetTimestamp();
        lock (_gate)
        {
            if (_recent.Count > 10_000)
            {
                // Forget old windows so a scan from many addresses cannot grow this without bound.
                foreach (IPAddress stale in _recent.Where(e => _time.GetElapsedTime(e.Value.WindowStart, now) > Window).Select(e => e.Key).ToList())
                {
                    _recent.Remove(stale);
                }
            }
            if (!_recent.TryGetValue(address, out var entry) || _time.GetElapsedTime(entry.WindowStart, now) > Window)
            {
                entry = (now, 0);
            }
            entry.Count++;
            _recent[address] = entry;
            return entry.Count <= _perSecond;
        }
    }
}

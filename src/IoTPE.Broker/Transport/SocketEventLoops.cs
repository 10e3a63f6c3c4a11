using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Transport;

/// <summary>
/// The broker's <see cref="SocketEventLoop"/>s: one per two cores, at least one. New connections
/// are spread over them in turn. The broker's passes take one lock, so more loops than half the
/// cores would buy wake-ups, not throughput (the same reasoning sizes .NET's own socket engine in
/// IoTPE.Edge's Program.cs for the TLS and WebSocket connections).
/// </summary>
internal sealed class SocketEventLoops : IDisposable
{
    private readonly SocketEventLoop[] _loops;
    private int _next = -1;

    /// <summary>Starts the loops' threads.</summary>
    public SocketEventLoops(ILogger log)
    {
        int count = Math.Max(1, Environment.ProcessorCount / 2);
        _loops = new SocketEventLoop[count];
        for (int i = 0; i < count; i++)
        {
            _loops[i] = new SocketEventLoop(log, count == 1 ? "iotpe-io" : $"iotpe-io-{i}");
        }
    }

    /// <summary>The loop that serves the next connection.</summary>
    public SocketEventLoop Next() => _loops[(uint)Interlocked.Increment(ref _next) % (uint)_loops.Length];

    /// <summary>Closes every connection still registered and stops the loops.</summary>
    public void Dispose()
    {
        foreach (SocketEventLoop loop in _loops)
        {
            loop.Dispose();
        }
    }
}

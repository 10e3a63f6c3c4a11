using System.Net;
using System.Net.Sockets;

namespace IoTPE.EndToEnd.Tests.Infrastructure;

/// <summary>
/// A TCP proxy on a loopback port in front of a target port. <see cref="BlackHole"/> stops
/// forwarding in both directions while keeping every socket open, as a link that died without a FIN
/// or RST (a cable pulled, a NAT entry gone): neither end learns anything from TCP. <see cref="DropAll"/>
/// then closes the sockets that were held. New connections are forwarded normally throughout.
/// </summary>
internal sealed class BlackHoleProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Link> _links = [];
    private readonly Task _accepting;

    public BlackHoleProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Accepted { get; private set; }

    /// <summary>Every connection open now stops forwarding; its sockets stay open.</summary>
    public void BlackHole()
    {
        lock (_links)
        {
            foreach (Link link in _links)
            {
                link.Silenced = true;
            }
        }
    }

    /// <summary>Closes the sockets of every black-holed connection.</summary>
    public void DropAll()
    {
        lock (_links)
        {
            foreach (Link link in _links.Where(l => l.Silenced))
            {
                link.Close();
            }
            _links.RemoveAll(l => l.Silenced);
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                TcpClient inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
                var outbound = new TcpClient();
                try
                {
                    await outbound.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                }
                catch (SocketException)
                {
                    inbound.Dispose(); // the target is down: the client sees a refused connection, as without the proxy
                    outbound.Dispose();
                    continue;
                }
                var link = new Link(inbound, outbound);
                lock (_links)
                {
                    _links.Add(link);
                    Accepted++;
                }
                _ = PumpAsync(link, inbound.GetStream(), outbound.GetStream());
                _ = PumpAsync(link, outbound.GetStream(), inbound.GetStream());
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    // Bytes read while the link is silenced are discarded: neither end sees them, nor any error.
    private async Task PumpAsync(Link link, NetworkStream from, NetworkStream to)
    {
        byte[] buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    break;
                }
                if (!link.Silenced)
                {
                    await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
        }
        if (!link.Silenced)
        {
            link.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_links)
        {
            foreach (Link link in _links)
            {
                link.Close();
            }
        }
        _stop.Dispose();
    }

    private sealed class Link(TcpClient inbound, TcpClient outbound)
    {
        public volatile bool Silenced;

        public void Close()
        {
            inbound.Dispose();
            outbound.Dispose();
        }
    }
}

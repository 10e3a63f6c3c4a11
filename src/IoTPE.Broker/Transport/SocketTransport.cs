using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace IoTPE.Broker.Transport;

/// <summary>Plain TCP. Nagle's algorithm is off: the broker coalesces its own writes (docs/architecture.md, "The broker's pass model").</summary>
internal sealed class SocketTransport : ITransport
{
    private readonly Socket _socket;
    private int _aborted;

    public SocketTransport(Socket socket)
    {
        _socket = socket;
        _socket.NoDelay = true;
        RemoteEndPoint = socket.RemoteEndPoint;
    }

    public EndPoint? RemoteEndPoint { get; }

    public X509Certificate2? ClientCertificate => null;

    public bool SupportsZeroByteReads => true;

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = await _socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    public void ShutdownSend()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already reset or closed: nothing left to half-close.
        }
    }

    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer.
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }
        _socket.Close();
    }

    public ValueTask DisposeAsync()
    {
        Abort();
        return ValueTask.CompletedTask;
    }
}

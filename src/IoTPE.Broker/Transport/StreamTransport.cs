using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace IoTPE.Broker.Transport;

/// <summary>A stream transport: TLS over TCP (<see cref="SslStream"/>).</summary>
internal sealed class StreamTransport : ITransport
{
    private readonly Stream _stream;
    private readonly Action _abort;
    private readonly Action _shutdownSend;

    public StreamTransport(Stream stream, EndPoint? remoteEndPoint, X509Certificate2? clientCertificate, Action abort, Action shutdownSend)
    {
        _stream = stream;
        _abort = abort;
        _shutdownSend = shutdownSend;
        RemoteEndPoint = remoteEndPoint;
        ClientCertificate = clientCertificate;
    }

    public EndPoint? RemoteEndPoint { get; }

    public X509Certificate2? ClientCertificate { get; }

    // SslStream waits for data on a zero-byte read without decrypting into a buffer (.NET 6+).
    public bool SupportsZeroByteReads => _stream is SslStream;

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        _stream.ReadAsync(buffer, cancellationToken);

    /// <summary>Nothing: a stream sends asynchronously only.</summary>
    public int TrySendNow(ReadOnlySpan<byte> data) => 0;

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public void ShutdownSend()
    {
        try
        {
            _shutdownSend();
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // Already reset or closed: nothing left to half-close.
        }
    }

    public void Abort() => _abort();

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}

using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace IoTPE.Broker.Transport;

/// <summary>A byte stream to one client: plain TCP, TLS or a WebSocket.</summary>
internal interface ITransport : IAsyncDisposable
{
    EndPoint? RemoteEndPoint { get; }

    /// <summary>The certificate the client presented over TLS, if any.</summary>
    X509Certificate2? ClientCertificate { get; }

    /// <summary>
    /// True when <see cref="ReceiveAsync"/> with an empty buffer waits for data without consuming it,
    /// so that an idle connection needs no receive buffer.
    /// </summary>
    bool SupportsZeroByteReads { get; }

    /// <summary>Receives at least one byte, or returns 0 when the peer closed the stream.</summary>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>
    /// Sends what the transport takes at once without waiting, possibly nothing (a full socket
    /// buffer; a stream that can only send asynchronously); returns the number of bytes sent. An
    /// error sends nothing here: <see cref="SendAsync"/> of the rest reports it.
    /// </summary>
    int TrySendNow(ReadOnlySpan<byte> data);

    /// <summary>Sends all of <paramref name="data"/>.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>
    /// Half-closes the stream once the broker has sent its last packet: the client reads the end of
    /// the stream after that packet, while receiving goes on until the client closes its side.
    /// </summary>
    void ShutdownSend();

    /// <summary>Closes the stream at once; pending receives and sends fail.</summary>
    void Abort();
}

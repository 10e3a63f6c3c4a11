using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;

namespace IoTPE.Broker.Transport;

/// <summary>
/// MQTT over WebSocket (MQTT 5.0 §6): MQTT bytes travel in binary WebSocket messages, and one
/// message may hold any part of a packet, so the connection reads it as a plain byte stream.
/// </summary>
internal sealed class WebSocketTransport : ITransport
{
    private readonly WebSocket _webSocket;
    private readonly Action _abort;

    public WebSocketTransport(WebSocket webSocket, EndPoint? remoteEndPoint, X509Certificate2? clientCertificate, Action abort)
    {
        _webSocket = webSocket;
        _abort = abort;
        RemoteEndPoint = remoteEndPoint;
        ClientCertificate = clientCertificate;
    }

    public EndPoint? RemoteEndPoint { get; }

    public X509Certificate2? ClientCertificate { get; }

    public bool SupportsZeroByteReads => false;

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            ValueWebSocketReceiveResult result = await _webSocket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return 0;
            }
            if (result.MessageType == WebSocketMessageType.Text)
            {
                // §6: MQTT Control Packets MUST be sent in binary data frames; close otherwise.
                throw new WebSocketException(WebSocketError.InvalidMessageType, "MQTT over WebSocket needs binary frames");
            }
            if (result.Count > 0)
            {
                return result.Count;
            }
        }
    }

    /// <summary>Nothing: a stream sends asynchronously only.</summary>
    public int TrySendNow(ReadOnlySpan<byte> data) => 0;

    public ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        _webSocket.SendAsync(data, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);

    // A WebSocket half-closes with its own Close frame (RFC 6455 §5.5.1); the client answers with
    // its Close frame, which ends the receive loop.
    public void ShutdownSend() => _ = CloseOutputAsync();

    private async Task CloseOutputAsync()
    {
        try
        {
            await _webSocket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Already closed or broken: the linger's deadline aborts it.
        }
    }

    public void Abort()
    {
        _webSocket.Abort();
        _abort();
    }

    public ValueTask DisposeAsync()
    {
        _webSocket.Dispose();
        return ValueTask.CompletedTask;
    }
}

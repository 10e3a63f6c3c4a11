using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace IoTPE.Broker.Listeners;

/// <summary>
/// The server side of the WebSocket opening handshake (RFC 6455 §4.2) for MQTT: a GET with
/// <c>Upgrade: websocket</c> on the configured path, answered with 101 and the <c>mqtt</c>
/// subprotocol (MQTT 5.0 §6), after which the stream carries WebSocket frames.
/// </summary>
internal static class WebSocketHandshake
{
    private const string Rfc6455Guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private const int MaxRequestBytes = 16 * 1024;

    public static async Task<WebSocket> AcceptAsync(Stream stream, string path, CancellationToken cancellationToken)
    {
        string request = await ReadRequestAsync(stream, cancellationToken).ConfigureAwait(false);
        string[] lines = request.Split("\r\n");
        string[] requestLine = lines[0].Split(' ');
        if (requestLine.Length < 3 || requestLine[0] != "GET")
        {
            await RespondAsync(stream, "405 Method Not Allowed", cancellationToken).ConfigureAwait(false);
            throw new InvalidDataException("WebSocket handshake: not a GET request");
        }
        string requestPath = requestLine[1].Split('?')[0];
        if (!string.Equals(requestPath, path, StringComparison.Ordinal))
        {
            await RespondAsync(stream, "404 Not Found", cancellationToken).ConfigureAwait(false);
            throw new InvalidDataException($"WebSocket handshake: unknown path {requestPath}");
        }
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }
        if (!headers.TryGetValue("Upgrade", out string? upgrade) || !upgrade.Equals("websocket", StringComparison.OrdinalIgnoreCase) ||
            !headers.TryGetValue("Sec-WebSocket-Key", out string? key))
        {
            await RespondAsync(stream, "400 Bad Request", cancellationToken).ConfigureAwait(false);
            throw new InvalidDataException("WebSocket handshake: missing Upgrade or Sec-WebSocket-Key");
        }
        string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + Rfc6455Guid)));
        bool offersMqtt = headers.TryGetValue("Sec-WebSocket-Protocol", out string? protocols) &&
            protocols.Split(',').Any(p => p.Trim() is "mqtt" or "mqttv3.1");
        string chosen = protocols?.Split(',').Select(p => p.Trim()).FirstOrDefault(p => p is "mqtt" or "mqttv3.1") ?? "mqtt";
        var response = new StringBuilder()
            .Append("HTTP/1.1 101 Switching Protocols\r\n")
            .Append("Upgrade: websocket\r\n")
            .Append("Connection: Upgrade\r\n")
            .Append("Sec-WebSocket-Accept: ").Append(accept).Append("\r\n");
        if (offersMqtt)
        {
            response.Append("Sec-WebSocket-Protocol: ").Append(chosen).Append("\r\n");
        }
        response.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(response.ToString()), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        return WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = offersMqtt ? chosen : null,
            KeepAliveInterval = TimeSpan.Zero, // MQTT has its own keep-alive.
        });
    }

    private static async Task<string> ReadRequestAsync(Stream stream, CancellationToken cancellationToken)
    {
        // Read byte by byte up to the blank line, so no WebSocket frame bytes are consumed.
        var buffer = new byte[MaxRequestBytes];
        int length = 0;
        while (length < buffer.Length)
        {
            int read = await stream.ReadAsync(buffer.AsMemory(length, 1), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new InvalidDataException("WebSocket handshake: connection closed during the request");
            }
            length++;
            if (length >= 4 && buffer[length - 4] == '\r' && buffer[length - 3] == '\n' && buffer[length - 2] == '\r' && buffer[length - 1] == '\n')
            {
                return Encoding.ASCII.GetString(buffer, 0, length - 4);
            }
        }
        throw new InvalidDataException("WebSocket handshake: request too large");
    }

    private static async Task RespondAsync(Stream stream, string status, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}

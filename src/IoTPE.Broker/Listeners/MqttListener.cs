using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Transport;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Listeners;

/// <summary>
/// Accepts connections on one address and port and turns each into a transport: plain TCP, TLS,
/// WebSocket or WebSocket over TLS, as its <see cref="ListenerOptions"/> say.
/// </summary>
internal sealed class MqttListener : IAsyncDisposable
{
    private readonly ListenerOptions _options;
    private readonly Action<ITransport, string> _onConnection;
    private readonly Func<IPAddress?, bool> _admit;
    private readonly ILogger _log;
    private readonly SocketEventLoops? _socketLoops;
    private readonly Socket _socket;
    private readonly X509Certificate2? _certificate;
    private readonly X509Certificate2Collection? _clientCa;
    private readonly CancellationTokenSource _stop = new();
    private Task? _acceptLoop;

    /// <param name="socketLoops">Serve the connections of a plain-TCP listener; required for one (TLS and WebSocket streams use .NET's own engine).</param>
    public MqttListener(ListenerOptions options, Action<ITransport, string> onConnection, Func<IPAddress?, bool> admit, ILogger log, SocketEventLoops? socketLoops)
    {
        if (options.IsPlainTcp && socketLoops is null)
        {
            throw new ArgumentNullException(nameof(socketLoops), "a plain-TCP listener needs the broker's socket event loops");
        }
        _options = options;
        _socketLoops = socketLoops;
        _onConnection = onConnection;
        _admit = admit;
        _log = log;
        if (options.Tls is { } tls)
        {
            _certificate = TlsCertificates.LoadServerCertificate(tls.CertificateFile, tls.KeyFile);
            if (tls.ClientCaFile is { } caFile)
            {
                _clientCa = [];
                _clientCa.ImportFromPemFile(caFile);
            }
        }
        IPAddress address = ParseAddress(options.Address);
        _socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.Equals(IPAddress.IPv6Any))
        {
            _socket.DualMode = true;
        }
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _socket.Bind(new IPEndPoint(address, options.Port));
        _socket.Listen(512);
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public string Name => _options.Name;

    public void Start()
    {
        string protocol = (_options.Protocol, _options.Tls is not null) switch
        {
            (ListenerProtocol.WebSocket, true) => "wss",
            (ListenerProtocol.WebSocket, false) => "ws",
            (_, true) => "mqtts",
            _ => "mqtt",
        };
        _log.Listening(LocalEndPoint, _options.Name, protocol);
        _acceptLoop = AcceptLoopAsync();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException e)
            {
                // A client gave up before we accepted it, or we ran out of descriptors (EMFILE):
                // keep serving the others, and give the system a moment to free descriptors.
                _log.ConnectionFailed(null, e.Message);
                await Task.Delay(e.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset ? 0 : 100, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            if (!_admit((client.RemoteEndPoint as IPEndPoint)?.Address))
            {
                client.Dispose();
                continue;
            }
            if (_options.IsPlainTcp)
            {
                _onConnection(new SocketTransport(client, _socketLoops!.Next()), _options.Name);
            }
            else
            {
                _ = HandshakeAsync(client);
            }
        }
    }

    /// <summary>TLS and/or the WebSocket upgrade, off the accept loop, with a time limit.</summary>
    private async Task HandshakeAsync(Socket client)
    {
        EndPoint? remote = client.RemoteEndPoint;
        ITransport transport;
        try
        {
            client.NoDelay = true;
            transport = await CreateTransportAsync(client).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or AuthenticationException or SocketException or WebSocketException or OperationCanceledException or InvalidDataException)
        {
            _log.ConnectionFailed(remote, e.Message);
            client.Dispose();
            return;
        }
        _onConnection(transport, _options.Name);
    }

    private async Task<ITransport> CreateTransportAsync(Socket client)
    {
        using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        handshakeTimeout.CancelAfter(TimeSpan.FromSeconds(10));
        Stream stream = new NetworkStream(client, ownsSocket: true);
        X509Certificate2? clientCertificate = null;
        if (_certificate is not null)
        {
            var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _certificate,
                ClientCertificateRequired = _clientCa is not null,
                RemoteCertificateValidationCallback = _clientCa is null ? null : ValidateClientCertificate,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, handshakeTimeout.Token).ConfigureAwait(false);
            if (ssl.RemoteCertificate is { } presented)
            {
                clientCertificate = presented as X509Certificate2 ?? new X509Certificate2(presented);
            }
            stream = ssl;
        }
        EndPoint? remote = client.RemoteEndPoint;
        if (_options.Protocol == ListenerProtocol.WebSocket)
        {
            WebSocket webSocket = await WebSocketHandshake.AcceptAsync(stream, _options.WebSocketPath, handshakeTimeout.Token).ConfigureAwait(false);
            return new WebSocketTransport(webSocket, remote, clientCertificate, client.Dispose);
        }
        return new StreamTransport(stream, remote, clientCertificate, client.Dispose, () => client.Shutdown(SocketShutdown.Send));
    }

    private bool ValidateClientCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || _clientCa is null)
        {
            return false;
        }
        using var customChain = new X509Chain();
        customChain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        customChain.ChainPolicy.CustomTrustStore.AddRange(_clientCa);
        customChain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return customChain.Build(certificate as X509Certificate2 ?? new X509Certificate2(certificate));
    }

    private static IPAddress ParseAddress(string address) => address switch
    {
        "localhost" => IPAddress.Loopback,
        "" or "*" => IPAddress.Any,
        _ => IPAddress.Parse(address),
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        _certificate?.Dispose();
        _stop.Dispose();
    }
}

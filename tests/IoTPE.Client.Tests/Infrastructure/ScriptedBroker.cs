using System.Net;
using System.Net.Sockets;

namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>
/// A fake broker the test drives packet by packet (with the IoTPE.Mqtt codec), to check the client's side of the
/// protocol flows exactly: what it resends, with which identifiers and flags, and when it acknowledges.
/// </summary>
public sealed class ScriptedBroker : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<ScriptedConnection> _connections = [];

    public ScriptedBroker() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Accepts the next connection, reads its CONNECT and answers with <paramref name="connAck"/> (accepted, no session unless told).</summary>
    public async Task<ScriptedConnection> AcceptAsync(Mqtt.ConnAckPacket? connAck = null, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        Socket socket = await _listener.AcceptSocketAsync(cts.Token);
        var connection = new ScriptedConnection(socket);
        _connections.Add(connection);
        await connection.ReadConnectAsync(cts.Token);
        await connection.SendAsync(connAck ?? new Mqtt.ConnAckPacket(Mqtt.ReasonCode.Success));
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        foreach (ScriptedConnection connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }
}

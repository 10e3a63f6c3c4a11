using System.Net;
using System.Net.Sockets;

namespace IoTPE.TestSupport;

/// <summary>A plain TCP connection for sending hand-made (often malformed) bytes and reading what comes back.</summary>
public sealed class RawConnection : IDisposable
{
    private readonly TcpClient _client = new();

    private RawConnection()
    {
    }

    public static async Task<RawConnection> OpenAsync(int port)
    {
        var connection = new RawConnection();
        await connection._client.ConnectAsync(IPAddress.Loopback, port);
        connection._client.NoDelay = true;
        return connection;
    }

    public Task SendAsync(params byte[] bytes) => _client.GetStream().WriteAsync(bytes).AsTask();

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>Reads until the server closes the connection or the timeout passes; says which happened.</summary>
    public async Task<(byte[] Received, bool Closed)> ReadUntilClosedAsync(TimeSpan timeout)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                int n = await _client.GetStream().ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    return ([.. received], true);
                }
                received.AddRange(buffer.AsSpan(0, n));
            }
        }
        catch (OperationCanceledException)
        {
            return ([.. received], false);
        }
        catch (IOException)
        {
            return ([.. received], true); // reset by the server
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (or fewer if the connection closes first).</summary>
    public async Task<byte[]> ReadAsync(int count, TimeSpan timeout)
    {
        var result = new byte[count];
        int read = 0;
        using var cts = new CancellationTokenSource(timeout);
        while (read < count)
        {
            int n = await _client.GetStream().ReadAsync(result.AsMemory(read), cts.Token);
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        return result[..read];
    }

    public void Dispose() => _client.Dispose();
}

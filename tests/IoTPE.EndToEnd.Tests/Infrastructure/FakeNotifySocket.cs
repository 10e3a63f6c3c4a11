using System.Net.Sockets;
using System.Text;

namespace IoTPE.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Stands in for systemd's notification socket: a Unix datagram socket whose path goes into
/// <c>NOTIFY_SOCKET</c>, and whose datagrams (<c>READY=1</c>, <c>WATCHDOG=1</c>, ...) the test
/// reads with the time each arrived.
/// </summary>
internal sealed class FakeNotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly string _folder = Directory.CreateTempSubdirectory("iotpe-notify-").FullName;

    public FakeNotifySocket()
    {
        Path = System.IO.Path.Combine(_folder, "notify");
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
    }

    public string Path { get; }

    /// <summary>The next datagram and when it arrived; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<(string State, DateTime ReceivedAt)> ReceiveAsync(TimeSpan timeout)
    {
        byte[] buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            int length = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return (Encoding.UTF8.GetString(buffer, 0, length), DateTime.UtcNow);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no notification within {timeout.TotalSeconds} s");
        }
    }

    /// <summary>Discards the notifications that have arrived and not been read; returns how many.</summary>
    public int Drain()
    {
        byte[] buffer = new byte[4096];
        int count = 0;
        while (_socket.Available > 0)
        {
            _socket.Receive(buffer);
            count++;
        }
        return count;
    }

    /// <summary>Reads notifications until one equals <paramref name="state"/>; returns when it arrived.</summary>
    public async Task<DateTime> WaitForAsync(string state, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"no {state} within {timeout.TotalSeconds} s");
            }
            (string received, DateTime at) = await ReceiveAsync(left);
            if (received == state)
            {
                return at;
            }
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}

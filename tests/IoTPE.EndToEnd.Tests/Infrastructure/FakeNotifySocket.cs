using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace IoTPE.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Stands in for systemd's notification socket: a Unix datagram socket whose path goes into
/// <c>NOTIFY_SOCKET</c>, and whose datagrams (<c>READY=1</c>, <c>WATCHDOG=1</c>, ...) the test
/// reads with the time each arrived.
/// </summary>
/// <remarks>
/// A thread of its own takes each datagram as it arrives and stamps it then: stamped when the test
/// got round to reading it, datagrams queued while a loaded test process was busy elsewhere looked
/// like a burst of pings (five 0.2 s periods measured as 0.40 s in a full run; the pings were fine).
/// </remarks>
internal sealed class FakeNotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly string _folder = Directory.CreateTempSubdirectory("iotpe-notify-").FullName;
    private readonly Channel<(string State, DateTime ReceivedAt)> _arrived = Channel.CreateUnbounded<(string, DateTime)>();
    private readonly Thread _reader;
    private volatile bool _disposed;

    public FakeNotifySocket()
    {
        Path = System.IO.Path.Combine(_folder, "notify");
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        // The reader blocks in Receive; the timeout lets it notice the disposal.
        _socket.ReceiveTimeout = 200;
        _reader = new Thread(ReadArrivals) { IsBackground = true, Name = "fake-notify-socket" };
        _reader.Start();
    }

    public string Path { get; }

    /// <summary>The next datagram and when it arrived; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<(string State, DateTime ReceivedAt)> ReceiveAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _arrived.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no notification within {timeout.TotalSeconds} s");
        }
    }

    /// <summary>Discards the notifications that have arrived and not been read; returns how many.</summary>
    public int Drain()
    {
        int count = 0;
        while (_arrived.Reader.TryRead(out _))
        {
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

    private void ReadArrivals()
    {
        byte[] buffer = new byte[4096];
        while (!_disposed)
        {
            try
            {
                int length = _socket.Receive(buffer);
                _arrived.Writer.TryWrite((Encoding.UTF8.GetString(buffer, 0, length), DateTime.UtcNow));
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
            }
            catch (Exception e) when (_disposed && e is SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _reader.Join();
        _socket.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}

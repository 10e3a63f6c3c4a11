using System.Net;
using System.Net.Sockets;
using IoTPE.Broker.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPE.Broker.Tests;

/// <summary>
/// The plain-TCP transport on the broker's own epoll loop, over real loopback sockets: the paths
/// the broker's end-to-end tests rarely reach (a full send buffer, an abort while waiting, bytes
/// that arrive while nobody reads).
/// </summary>
public sealed class SocketTransportTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly string _threadName = "io-test-" + Guid.NewGuid().ToString("N")[..6];
    private readonly SocketEventLoop _loop;
    private readonly Socket _peer;
    private readonly SocketTransport _transport;

    public SocketTransportTests()
    {
        _loop = new SocketEventLoop(NullLogger.Instance, _threadName);
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        _peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _peer.Connect(listener.LocalEndPoint!);
        _transport = new SocketTransport(listener.Accept(), _loop);
    }

    [Fact]
    public async Task A_zero_byte_receive_waits_for_bytes_without_taking_them()
    {
        ValueTask<int> waiting = _transport.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        _peer.Send("abc"u8);
        Assert.Equal(0, await waiting.AsTask().WaitAsync(Patience));
        byte[] buffer = new byte[16];
        int received = await _transport.ReceiveAsync(buffer, CancellationToken.None).AsTask().WaitAsync(Patience);
        Assert.Equal("abc"u8.ToArray(), buffer[..received]);
    }

    [Fact]
    public async Task A_send_larger_than_the_socket_buffers_waits_for_the_reader_and_arrives_whole()
    {
        byte[] data = new byte[16 * 1024 * 1024];
        Random.Shared.NextBytes(data);

        int sentNow = _transport.TrySendNow(data);
        Assert.InRange(sentNow, 1, data.Length - 1); // as much as the socket buffers hold, not all 16 MB
        Task sending = _transport.SendAsync(data.AsMemory(sentNow), CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.False(sending.IsCompleted);

        byte[] received = await ReadAsync(_peer, data.Length);
        await sending.WaitAsync(Patience);
        Assert.Equal(data, received);
    }

    [Fact]
    public async Task Closing_the_transport_fails_a_waiting_receive_instead_of_leaving_it_hanging()
    {
        ValueTask<int> waiting = _transport.ReceiveAsync(new byte[16], CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        _transport.Abort();

        await Assert.ThrowsAnyAsync<SocketException>(() => waiting.AsTask().WaitAsync(Patience));
        await Assert.ThrowsAnyAsync<SocketException>(() => _transport.ReceiveAsync(new byte[16], CancellationToken.None).AsTask());
        await Assert.ThrowsAnyAsync<SocketException>(() => _transport.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).AsTask());
        Assert.Equal(0, await _peer.ReceiveAsync(new byte[16]).WaitAsync(Patience)); // the peer sees the close
    }

    [Fact]
    public async Task Bytes_that_nobody_reads_yet_leave_the_loop_asleep_and_wait_for_the_next_receive()
    {
        byte[] buffer = new byte[16];
        ValueTask<int> first = _transport.ReceiveAsync(buffer, CancellationToken.None);
        Assert.False(first.IsCompleted); // so the socket is in the loop's set when the bytes come
        _peer.Send("1"u8);
        Assert.Equal(1, await first.AsTask().WaitAsync(Patience));

        // Nobody reads now (a paused publisher) while bytes and then a hang-up arrive: the loop must
        // not be woken for them again and again.
        _peer.Send("2"u8);
        await Task.Delay(200);
        _peer.Shutdown(SocketShutdown.Both);
        long before = LoopCpuTicks();
        await Task.Delay(1000);
        long spent = LoopCpuTicks() - before;
        Assert.True(spent <= 10, $"the loop's thread used {spent} ticks of 10 ms in one second with nobody reading");

        Assert.Equal(1, await _transport.ReceiveAsync(buffer, CancellationToken.None).AsTask().WaitAsync(Patience));
        Assert.Equal((byte)'2', buffer[0]);
        Assert.Equal(0, await _transport.ReceiveAsync(buffer, CancellationToken.None).AsTask().WaitAsync(Patience));
    }

    /// <summary>The loop thread's user + system time, in clock ticks, from /proc.</summary>
    private long LoopCpuTicks()
    {
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == _threadName)
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return long.Parse(fields[11]) + long.Parse(fields[12]); // utime, stime (fields 14, 15 of proc(5))
            }
        }
        throw new InvalidOperationException($"no thread named {_threadName}");
    }

    private static async Task<byte[]> ReadAsync(Socket socket, int length)
    {
        byte[] data = new byte[length];
        int read = 0;
        while (read < length)
        {
            int n = await socket.ReceiveAsync(data.AsMemory(read)).AsTask().WaitAsync(Patience);
            Assert.NotEqual(0, n);
            read += n;
        }
        return data;
    }

    public void Dispose()
    {
        _transport.Abort();
        _peer.Dispose();
        _loop.Dispose();
    }
}

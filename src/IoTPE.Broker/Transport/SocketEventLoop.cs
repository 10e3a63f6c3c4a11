using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using IoTPE.Broker.Monitoring;
using IoTPE.Threading;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Transport;

/// <summary>
/// One thread that waits for every plain-TCP connection of a broker in one Linux <c>epoll</c> set
/// and runs the continuation of whichever receive or send became possible, on that thread.
/// </summary>
/// <remarks>
/// <para>
/// .NET's own socket engine does the same job; its per-operation path (operation queues, event
/// args, the state machines of receives and sends that complete at once) was about a quarter of
/// the broker thread's instructions per message at 100 msg/s (callgrind: 23.4 thousand, 18.3 with
/// these loops and <see cref="ITransport.TrySendNow"/>). A minimal MQTT relay in C# used 0.97-1.37x
/// Mosquitto's CPU per message on the engine and 0.50-0.85x on an epoll loop of its own
/// (docs/benchmarks.md, issue 14).
/// </para>
/// <para>
/// Level-triggered, and a connection is in the set only for what it waits for: a receive keeps
/// its interest after it completes (the connection asks again at once, so the steady state costs
/// no <c>epoll_ctl</c>), a readiness nobody waits for removes it (a paused connection with unread
/// bytes, or a hung-up one, must not wake the loop again and again).
/// </para>
/// </remarks>
internal sealed partial class SocketEventLoop : IDisposable
{
    private const int EPOLL_CLOEXEC = 0x80000;
    private const int EPOLL_CTL_ADD = 1;
    private const int EPOLL_CTL_DEL = 2;
    private const int EPOLL_CTL_MOD = 3;
    private const int EINTR = 4;
    private const int MaxEvents = 256;
    // epoll.h packs struct epoll_event on x86 and x86-64 only (EPOLL_PACKED): 12 bytes there, data
    // at offset 4; elsewhere (arm64, arm) the 64-bit data is aligned: 16 bytes, data at offset 8.
    private static readonly bool PackedEvents = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;
    private static readonly int EventSize = PackedEvents ? 12 : 16;
    private static readonly int DataOffset = PackedEvents ? 4 : 8;

    /// <summary>epoll_event.data of the stop signal; connections count from 1.</summary>
    private const ulong StopToken = 0;

    private readonly int _epoll;
    private readonly WakeSignal _stop = new();
    private readonly ConcurrentDictionary<ulong, SocketTransport> _sockets = new();
    private readonly ILogger _log;
    private readonly Thread _thread;
    private long _nextToken;
    private volatile bool _stopping;

    /// <summary>Creates the epoll set and starts its thread.</summary>
    /// <exception cref="IOException">The kernel refused an epoll set (e.g. out of file descriptors).</exception>
    /// <param name="log">Where an internal error of a connection's continuation is reported.</param>
    /// <param name="threadName">The name of the loop's thread, as <c>top -H</c> and perf show it.</param>
    public SocketEventLoop(ILogger log, string threadName)
    {
        _log = log;
        _epoll = EpollCreate(EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1 failed (errno {Marshal.GetLastPInvokeError()})");
        }
        if (Control(EPOLL_CTL_ADD, _stop.FileDescriptor, EpollEvents.In, StopToken) != 0)
        {
            throw new IOException($"epoll_ctl failed (errno {Marshal.GetLastPInvokeError()})");
        }
        _thread = new Thread(Run) { IsBackground = true, Name = threadName };
        _thread.Start();
    }

    private bool IsLoopThread => Thread.CurrentThread == _thread;

    /// <summary>Gives <paramref name="socket"/> its token; it joins the epoll set when it first waits.</summary>
    internal ulong Register(SocketTransport socket)
    {
        ulong token = (ulong)Interlocked.Increment(ref _nextToken);
        _sockets[token] = socket;
        return token;
    }

    internal void Unregister(ulong token) => _sockets.TryRemove(token, out _);

    /// <summary>
    /// Adds, changes or removes the interest of descriptor <paramref name="fd"/> (from
    /// <paramref name="before"/> to <paramref name="after"/>). Returns the errno, 0 on success.
    /// </summary>
    internal int ChangeInterest(int fd, ulong token, EpollEvents before, EpollEvents after)
    {
        int op = (before, after) switch
        {
            (EpollEvents.None, _) => EPOLL_CTL_ADD,
            (_, EpollEvents.None) => EPOLL_CTL_DEL,
            _ => EPOLL_CTL_MOD,
        };
        return Control(op, fd, after, token) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    private unsafe int Control(int op, int fd, EpollEvents events, ulong token)
    {
        byte* ev = stackalloc byte[16];
        *(uint*)ev = (uint)events;
        *(ulong*)(ev + DataOffset) = token;
        return EpollCtl(_epoll, op, fd, ev);
    }

    private unsafe void Run()
    {
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EventSize));
        CorePacking.JoinCurrentThread(); // with the script workers: a run request is received here and run there
        try
        {
            while (!_stopping)
            {
                int count = EpollWait(_epoll, events, MaxEvents, -1);
                if (count < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != EINTR && !_stopping)
                    {
                        // Only a broken epoll set fails here (EBADF, EINVAL): nothing to wait on any more.
                        _log.SocketEventLoopFailed(new IOException($"epoll_wait failed (errno {errno})"));
                        return;
                    }
                    continue;
                }
                for (int i = 0; i < count; i++)
                {
                    byte* ev = events + (i * EventSize);
                    var ready = (EpollEvents)(*(uint*)ev);
                    ulong token = *(ulong*)(ev + DataOffset);
                    if (token == StopToken)
                    {
                        _stop.Wait(TimeSpan.Zero);
                        continue;
                    }
                    // A token gone from the table belongs to a connection closed since epoll_wait returned.
                    if (_sockets.TryGetValue(token, out SocketTransport? socket))
                    {
                        Dispatch(socket, ready);
                    }
                }
                CorePacking.CountEvents(count); // a burst while packed is spread before the next tick
            }
        }
        finally
        {
            CorePacking.LeaveCurrentThread();
            NativeMemory.Free(events);
            _ = Close(_epoll);
            _stop.Dispose();
        }
    }

    private void Dispatch(SocketTransport socket, EpollEvents ready)
    {
        try
        {
            socket.OnReady(ready);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Continuations run here; a bug in one must cost that connection, not every connection.
            _log.SocketEventLoopFailed(e);
            socket.Abort();
        }
    }

    /// <summary>
    /// Closes every connection still registered and stops the thread, which closes the epoll set
    /// (at once, or after the continuation that called this has returned).
    /// </summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }
        foreach (SocketTransport socket in _sockets.Values)
        {
            socket.Abort();
        }
        _stopping = true;
        _stop.Set();
        if (!IsLoopThread)
        {
            _thread.Join();
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate(int flags);

    [LibraryImport("libc.so.6", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static unsafe partial int EpollCtl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc.so.6", EntryPoint = "epoll_wait", SetLastError = true)]
    private static unsafe partial int EpollWait(int epfd, byte* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport("libc.so.6", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}

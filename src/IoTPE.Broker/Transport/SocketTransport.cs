using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Tasks.Sources;

namespace IoTPE.Broker.Transport;

/// <summary>
/// Plain TCP, served by the broker's <see cref="SocketEventLoop"/>: receives and sends are tried at
/// once on the non-blocking socket, and only one that would block waits for the loop, whose thread
/// then completes it and runs its continuation. Nagle's algorithm is off: the broker coalesces its
/// own writes (docs/architecture.md, "The broker's pass model").
/// </summary>
/// <remarks>
/// None of .NET's asynchronous socket methods is ever called on the socket: they would register it
/// with .NET's own engine as well. One receive and one send may wait at a time (the connection's
/// read loop and its output buffer's send loop).
/// </remarks>
internal sealed partial class SocketTransport : ITransport, IValueTaskSource<int>, IValueTaskSource
{
    private const int MSG_NOSIGNAL = 0x4000; // a peer gone must be an EPIPE, not a SIGPIPE

    private readonly Socket _socket;
    private readonly SocketEventLoop _loop;
    private readonly ulong _token;
    private readonly SafeSocketHandle _handle; // referenced around each send and recv
    private readonly int _fd;
    private readonly Lock _gate = new();
    // Continuations run where the operation completes: on the loop's thread, as the broker's
    // passes expect (they are short and never block).
    private ManualResetValueTaskSourceCore<int> _receive = new() { RunContinuationsAsynchronously = false };
    private ManualResetValueTaskSourceCore<bool> _send = new() { RunContinuationsAsynchronously = false };
    private Memory<byte> _receiveBuffer;
    private bool _receiveWaiting;
    private bool _sendWaiting;
    private EpollEvents _interest;
    private bool _closed;

    public SocketTransport(Socket socket, SocketEventLoop loop)
    {
        _socket = socket;
        _loop = loop;
        _socket.NoDelay = true;
        _socket.Blocking = false;
        _handle = _socket.SafeHandle;
        _fd = (int)_handle.DangerousGetHandle();
        RemoteEndPoint = socket.RemoteEndPoint;
        _token = loop.Register(this);
    }

    public EndPoint? RemoteEndPoint { get; }

    public X509Certificate2? ClientCertificate => null;

    public bool SupportsZeroByteReads => true;

    /// <inheritdoc/>
    /// <remarks>An empty <paramref name="buffer"/> waits for bytes without a system call: the level-triggered set reports bytes already there at once.</remarks>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!buffer.IsEmpty)
        {
            int received = TryReceive(buffer, out SocketError error);
            if (error != SocketError.WouldBlock)
            {
                return error == SocketError.Success ? new ValueTask<int>(received) : ValueTask.FromException<int>(new SocketException((int)error));
            }
        }
        lock (_gate)
        {
            if (_closed)
            {
                return ValueTask.FromException<int>(new SocketException((int)SocketError.OperationAborted));
            }
            _receive.Reset();
            _receiveBuffer = buffer;
            _receiveWaiting = true;
            if (Want(_interest | EpollEvents.In) is int errno and not 0)
            {
                _receiveWaiting = false;
                return ValueTask.FromException<int>(new SocketException(errno));
            }
            return new ValueTask<int>(this, _receive.Version);
        }
    }

    public int TrySendNow(ReadOnlySpan<byte> data)
    {
        int sent = TrySend(data, out SocketError error);
        return error == SocketError.Success ? sent : 0;
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = TrySend(data.Span, out SocketError error);
            if (error == SocketError.Success)
            {
                data = data[sent..];
            }
            else if (error == SocketError.WouldBlock)
            {
                await WaitWritableAsync().ConfigureAwait(false);
            }
            else
            {
                throw new SocketException((int)error);
            }
        }
    }

    private ValueTask WaitWritableAsync()
    {
        lock (_gate)
        {
            if (_closed)
            {
                throw new SocketException((int)SocketError.OperationAborted);
            }
            _send.Reset();
            _sendWaiting = true;
            if (Want(_interest | EpollEvents.Out) is int errno and not 0)
            {
                _sendWaiting = false;
                throw new SocketException(errno);
            }
            return new ValueTask(this, _send.Version);
        }
    }

    /// <summary>On the loop's thread: the socket became readable, writable, or hung up.</summary>
    internal void OnReady(EpollEvents ready)
    {
        bool receive = false;
        bool send = false;
        Memory<byte> buffer = default;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            EpollEvents wanted = _interest;
            if ((ready & (EpollEvents.In | EpollEvents.HangUp | EpollEvents.Error)) != 0)
            {
                if (_receiveWaiting)
                {
                    _receiveWaiting = false;
                    receive = true;
                    buffer = _receiveBuffer;
                    _receiveBuffer = default;
                }
                else
                {
                    // Nobody reads now (a paused publisher): stop being woken for its bytes.
                    wanted &= ~EpollEvents.In;
                }
            }
            if ((ready & (EpollEvents.Out | EpollEvents.HangUp | EpollEvents.Error)) != 0)
            {
                send = _sendWaiting;
                _sendWaiting = false;
                // Sends rarely block: a socket is nearly always writable, so the interest goes at once.
                wanted &= ~EpollEvents.Out;
            }
            if ((ready & (EpollEvents.HangUp | EpollEvents.Error)) != 0 && !receive && !send)
            {
                // Reported whatever the interest: with nobody waiting, leave the set until someone does.
                wanted = EpollEvents.None;
            }
            _ = Want(wanted);
        }
        if (send)
        {
            _send.SetResult(true);
        }
        if (receive)
        {
            CompleteReceive(buffer);
        }
    }

    private void CompleteReceive(Memory<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            _receive.SetResult(0);
            return;
        }
        int received = TryReceive(buffer, out SocketError error);
        if (error == SocketError.Success)
        {
            _receive.SetResult(received);
        }
        else if (error != SocketError.WouldBlock)
        {
            _receive.SetException(new SocketException((int)error));
        }
        else
        {
            // Readiness without bytes (another reader cannot exist; a spurious wake-up): wait again.
            lock (_gate)
            {
                if (!_closed)
                {
                    _receiveBuffer = buffer;
                    _receiveWaiting = true;
                    _ = Want(_interest | EpollEvents.In);
                    return;
                }
            }
            _receive.SetException(new SocketException((int)SocketError.OperationAborted));
        }
    }

    // send(2) and recv(2) directly on the descriptor: Socket.Send/Receive cost ~440 instructions a
    // call around the system call's ~60 (SocketPal's checks, its status bookkeeping, the error
    // mapping; callgrind, issue 14) on the loop's hottest path. The handle's reference keeps the
    // descriptor's number ours while a call runs, however Abort races with it.
    private unsafe int TrySend(ReadOnlySpan<byte> data, out SocketError error)
    {
        fixed (byte* bytes = data)
        {
            return Transfer(bytes, data.Length, receive: false, out error);
        }
    }

    private unsafe int TryReceive(Memory<byte> buffer, out SocketError error)
    {
        fixed (byte* bytes = buffer.Span)
        {
            return Transfer(bytes, buffer.Length, receive: true, out error);
        }
    }

    private unsafe int Transfer(byte* bytes, int length, bool receive, out SocketError error)
    {
        bool referenced = false;
        try
        {
            _handle.DangerousAddRef(ref referenced);
            while (true)
            {
                nint done = receive ? Receive(_fd, bytes, (nuint)length, 0) : Send(_fd, bytes, (nuint)length, MSG_NOSIGNAL);
                if (done >= 0)
                {
                    error = SocketError.Success;
                    return (int)done;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != SocketErrno.EINTR)
                {
                    error = SocketErrno.ToSocketError(errno);
                    return 0;
                }
            }
        }
        catch (ObjectDisposedException)
        {
            error = SocketError.OperationAborted;
            return 0;
        }
        finally
        {
            if (referenced)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Under <see cref="_gate"/>: makes the epoll interest <paramref name="wanted"/>; returns the errno, 0 on success.</summary>
    private int Want(EpollEvents wanted)
    {
        if (wanted == _interest)
        {
            return 0;
        }
        int errno = _loop.ChangeInterest(_fd, _token, _interest, wanted);
        if (errno == 0)
        {
            _interest = wanted;
        }
        return errno;
    }

    public void ShutdownSend()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already reset or closed: nothing left to half-close.
        }
    }

    public void Abort()
    {
        bool receive;
        bool send;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
            receive = _receiveWaiting;
            send = _sendWaiting;
            _receiveWaiting = _sendWaiting = false;
            _receiveBuffer = default;
            // Out of the set before the descriptor closes: its number may be reused at once.
            _ = Want(EpollEvents.None);
        }
        _loop.Unregister(_token);
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer.
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }
        _socket.Close();
        if (receive || send)
        {
            // Not inline: whoever aborts (a pass, a timer) must not run the connection's teardown.
            ThreadPool.UnsafeQueueUserWorkItem(static state =>
            {
                var (transport, receive, send) = state;
                var aborted = new SocketException((int)SocketError.OperationAborted);
                if (receive)
                {
                    transport._receive.SetException(aborted);
                }
                if (send)
                {
                    transport._send.SetException(aborted);
                }
            }, (this, receive, send), preferLocal: false);
        }
    }

    public ValueTask DisposeAsync()
    {
        Abort();
        return ValueTask.CompletedTask;
    }

    int IValueTaskSource<int>.GetResult(short token) => _receive.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _receive.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _receive.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token) => _send.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _send.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _send.OnCompleted(continuation, state, token, flags);

    [LibraryImport("libc.so.6", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint Send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc.so.6", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint Receive(int fd, byte* buffer, nuint length, int flags);
}

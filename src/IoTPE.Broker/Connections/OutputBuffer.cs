using System.Buffers;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Connections;

/// <summary>
/// Bytes waiting to be written to one client. The broker encodes packets into it while it holds
/// its lock; <see cref="Flush"/>, called after the lock is released, sends everything gathered in
/// one write, so many small packets go out together (docs/architecture.md, "The broker's pass model"). While a send
/// is in progress, new packets gather in a second buffer. Buffers come from the shared pool and go
/// back to it when empty, so an idle connection holds none.
/// </summary>
internal sealed class OutputBuffer
{
    private const int InitialSize = 4096;

    private readonly Lock _gate = new();
    private readonly IOutputSink _sink;
    private byte[]? _buffer;
    private int _length;
    private int _sendingLength;
    private bool _sending;
    private bool _closed;
    private Action? _whenDrained;

    public OutputBuffer(IOutputSink sink)
    {
        _sink = sink;
    }

    /// <summary>Bytes gathered or being sent.</summary>
    /// <remarks>
    /// Read without the lock: a gauge for flow control (asked several times a message), for which a
    /// value a moment old is as good as an exact one.
    /// </remarks>
    public int PendingBytes => Volatile.Read(ref _length) + Volatile.Read(ref _sendingLength);

    /// <summary>Encodes <paramref name="packet"/> at the end of the buffer.</summary>
    public void Write<TPacket>(in TPacket packet, MqttProtocolVersion version) where TPacket : IMqttPacket
    {
        int size = packet.GetEncodedSize(version);
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            EnsureCapacity(size);
            _length += packet.Encode(_buffer.AsSpan(_length), version);
        }
    }

    /// <summary>Starts sending what has gathered, unless a send is already running (it will pick it up).</summary>
    public void Flush()
    {
        byte[] chunk;
        int length;
        lock (_gate)
        {
            if (_sending || _length == 0 || _closed)
            {
                return;
            }
            chunk = _buffer!;
            length = _length;
            _buffer = null;
            _length = 0;
            _sending = true;
            _sendingLength = length;
        }
        SendChunks(chunk, length);
    }

    /// <summary>Calls <paramref name="action"/> once everything gathered so far has been sent (at once if nothing is pending).</summary>
    public void WhenDrained(Action action)
    {
        bool now;
        lock (_gate)
        {
            now = !_sending && _length == 0;
            if (!now)
            {
                _whenDrained = action;
            }
        }
        if (now)
        {
            action();
        }
        else
        {
            Flush();
        }
    }

    /// <summary>Drops whatever is pending and returns the buffers to the pool.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            if (!_sending && _buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
            }
            _length = 0;
        }
    }

    /// <summary>
    /// Sends chunk after chunk on the calling thread while the transport takes each whole at once
    /// (the usual case: a socket's send buffer has room); the first it does not goes on asynchronously.
    /// An asynchronous send that completes at once still costs its state machines and the socket
    /// engine's bookkeeping: from here to the socket, 3.6 of the broker thread's 23.4 thousand
    /// instructions per message at 100 msg/s went that way; this way takes 2.0 (callgrind, issue 14).
    /// </summary>
    private void SendChunks(byte[] chunk, int length)
    {
        while (true)
        {
            int sent = _sink.TrySendNow(chunk.AsSpan(0, length));
            if (sent < length)
            {
                _ = SendLoopAsync(chunk, length, sent);
                return;
            }
            if (!TakeNextChunk(ref chunk, ref length))
            {
                return;
            }
        }
    }

    private async Task SendLoopAsync(byte[] chunk, int length, int offset)
    {
        while (true)
        {
            try
            {
                await _sink.SendAsync(chunk.AsMemory(offset, length - offset)).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                ArrayPool<byte>.Shared.Return(chunk);
                lock (_gate)
                {
                    _sending = false;
                    _sendingLength = 0;
                    _whenDrained = null;
                }
                _sink.OnSendFailed(e);
                return;
            }
            if (!TakeNextChunk(ref chunk, ref length))
            {
                return;
            }
            offset = 0;
        }
    }

    /// <summary>
    /// After <paramref name="chunk"/> has been sent: swaps in what gathered meanwhile and returns
    /// true, or, with nothing gathered, ends the send (returns the buffer, runs the drained callback)
    /// and returns false.
    /// </summary>
    private bool TakeNextChunk(ref byte[] chunk, ref int length)
    {
        Action? drained = null;
        bool done;
        lock (_gate)
        {
            done = _length == 0 || _closed;
            if (done)
            {
                ArrayPool<byte>.Shared.Return(chunk);
                _sending = false;
                _sendingLength = 0;
                drained = _whenDrained;
                _whenDrained = null;
                ReleaseBufferIfEmpty(); // idle connections hold no memory
            }
            else
            {
                byte[] next = _buffer!;
                length = _length;
                _buffer = chunk;
                _length = 0;
                chunk = next;
                _sendingLength = length;
            }
        }
        _sink.OnSent();
        drained?.Invoke();
        return !done;
    }

    /// <summary>Under the lock, nothing being sent: gives the buffer back to the pool if nothing gathered in it.</summary>
    private void ReleaseBufferIfEmpty()
    {
        if (_length == 0 && _buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }

    private void EnsureCapacity(int size)
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(InitialSize, size));
            return;
        }
        if (_buffer.Length - _length >= size)
        {
            return;
        }
        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + size));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}

/// <summary>Where an <see cref="OutputBuffer"/> sends its bytes.</summary>
internal interface IOutputSink
{
    /// <summary>Sends what can be sent at once without waiting, possibly nothing; returns the number of bytes sent.</summary>
    int TrySendNow(ReadOnlySpan<byte> data);

    /// <summary>Sends all of <paramref name="data"/>.</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> data);

    /// <summary>A send completed and its bytes no longer count as pending (called outside the buffer's lock).</summary>
    void OnSent();

    /// <summary>A send failed; the connection is broken.</summary>
    void OnSendFailed(Exception error);
}

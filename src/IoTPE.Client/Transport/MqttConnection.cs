using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using IoTPE.Mqtt;

namespace IoTPE.Client.Transport;

/// <summary>
/// One network connection to the broker, from CONNECT/CONNACK to its end: a read loop that frames packets from a
/// pipe and hands them to the session, a write loop that encodes everything queued since its last pass into one
/// buffer and writes it with one call (TCP_NODELAY is set, so small packets neither wait nor go out one by one), and
/// the keep-alive (spec 3.1.2.10): PINGREQ when idle, and the connection dropped when the broker stays silent.
/// </summary>
internal sealed class MqttConnection : IAsyncDisposable
{
    private const int MaxWriteBatch = 256 * 1024;

    /// <summary>IPPROTO_TCP and TCP_QUICKACK (Linux, include/uapi/linux/tcp.h).</summary>
    private const int IpProtoTcp = 6;
    private const int TcpQuickAck = 12;
    private static readonly byte[] QuickAckOn = BitConverter.GetBytes(1);

    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly MqttProtocolVersion _version;
    private readonly TimeSpan _keepAlive;
    private readonly Channel<IMqttPacket> _outbox = Channel.CreateUnbounded<IMqttPacket>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _abort = new();
    private long _lastSentMs = Environment.TickCount64;
    private long _lastReceivedMs = Environment.TickCount64;
    private long _pingSentMs;
    private bool _quickAck = OperatingSystem.IsLinux();

    private MqttConnection(Socket socket, Stream stream, PipeReader reader, MqttProtocolVersion version, ConnAckPacket connAck, TimeSpan keepAlive)
    {
        _socket = socket;
        _stream = stream;
        _reader = reader;
        _version = version;
        ConnAck = connAck;
        _keepAlive = keepAlive;
    }

    /// <summary>The broker's CONNACK (accepted).</summary>
    public ConnAckPacket ConnAck { get; }

    /// <summary>
    /// Opens the transport (TCP, then TLS if configured), sends CONNECT and reads CONNACK, all within
    /// <see cref="MqttClientOptions.ConnectTimeout"/>.
    /// </summary>
    /// <exception cref="MqttRejectedException">The broker refused the connection.</exception>
    public static async Task<MqttConnection> OpenAsync(MqttClientOptions options, ConnectPacket connect, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            await socket.ConnectAsync(options.Host, options.Port, timeout.Token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (options.Tls is not null)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                await tls.AuthenticateAsClientAsync(TlsAuthentication.Create(options), timeout.Token).ConfigureAwait(false);
            }

            byte[] buffer = new byte[connect.GetEncodedSize()];
            connect.Encode(buffer);
            await stream.WriteAsync(buffer, timeout.Token).ConfigureAwait(false);

            PipeReader reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
            ConnAckPacket connAck = await ReadConnAckAsync(reader, options.ProtocolVersion, timeout.Token).ConfigureAwait(false);
            if (connAck.ReasonCode != ReasonCode.Success)
            {
                await reader.CompleteAsync().ConfigureAwait(false);
                throw new MqttRejectedException(connAck.ReasonCode, $"The broker refused the connection: {connAck.ReasonCode} {connAck.ReasonString}".TrimEnd());
            }

            TimeSpan keepAlive = connAck.ServerKeepAlive is { } serverKeepAlive ? TimeSpan.FromSeconds(serverKeepAlive) : options.KeepAlive;
            return new MqttConnection(socket, stream, reader, options.ProtocolVersion, connAck, keepAlive);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await CloseQuietlyAsync(stream, socket).ConfigureAwait(false);
            throw new TimeoutException($"Connecting to {options.Host}:{options.Port} took longer than {options.ConnectTimeout}.");
        }
        catch
        {
            await CloseQuietlyAsync(stream, socket).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Queues a packet; it goes out with the next batch. Never blocks; ignored once the connection ended.</summary>
    public void Send(IMqttPacket packet) => _outbox.Writer.TryWrite(packet);

    /// <summary>Ends the connection at once (its loops stop and the socket closes).</summary>
    public void Abort()
    {
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already over.
        }
    }

    /// <summary>Sends DISCONNECT after what is queued and lets the write loop finish, which ends <see cref="RunAsync"/>.</summary>
    public void Close()
    {
        Send(new DisconnectPacket());
        _outbox.Writer.TryComplete();
    }

    /// <summary>Runs the connection until it ends: returns after <see cref="Close"/>, throws when it broke.</summary>
    public async Task RunAsync(IPacketSink sink, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);
        Task read = ReadLoopAsync(sink, stop.Token);
        Task write = WriteLoopAsync(stop.Token);
        Task keepAlive = KeepAliveLoopAsync(stop.Token);
        Task first = await Task.WhenAny(read, write, keepAlive).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose(); // Unblocks pending reads and writes.
        try
        {
            await Task.WhenAll(read, write, keepAlive).ConfigureAwait(false);
        }
        catch (Exception) when (!first.IsCompletedSuccessfully)
        {
            // The loops stopped after the first one ended; its outcome is what counts (below).
        }
        catch (Exception) when (first == write)
        {
            // Closed by us: the other loops were stopped.
        }

        if (first == write && first.IsCompletedSuccessfully)
        {
            return; // Closed by us.
        }

        if (first.IsFaulted)
        {
            await first.ConfigureAwait(false);
        }

        if (_abort.IsCancellationRequested)
        {
            throw new IOException("The connection was dropped.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new IOException("The connection ended.");
    }

    public async ValueTask DisposeAsync()
    {
        _outbox.Writer.TryComplete();
        Abort();
        await _reader.CompleteAsync().ConfigureAwait(false);
        await CloseQuietlyAsync(_stream, _socket).ConfigureAwait(false);
        _abort.Dispose();
    }

    private static async Task<ConnAckPacket> ReadConnAckAsync(PipeReader reader, MqttProtocolVersion version, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            FrameStatus status = PacketFramer.TryReadFrame(buffer, PacketFramer.ProtocolMaximumPacketSize, out PacketFrame frame, out SequencePosition consumed, out MqttDecodeError error);
            if (status == FrameStatus.Complete)
            {
                try
                {
                    if (frame.Type == PacketType.ConnAck && ConnAckPacket.TryDecode(frame, version, out ConnAckPacket? connAck, out error))
                    {
                        return connAck;
                    }

                    if (frame.Type == PacketType.Disconnect && DisconnectPacket.TryDecode(frame, version, out DisconnectPacket? disconnect, out _))
                    {
                        throw new MqttRejectedException(disconnect.ReasonCode, $"The broker refused the connection: {disconnect.ReasonCode} {disconnect.ReasonString}".TrimEnd());
                    }

                    throw new InvalidDataException($"Expected CONNACK, got {frame.Type}: {error}");
                }
                finally
                {
                    reader.AdvanceTo(consumed);
                }
            }

            if (status == FrameStatus.Error)
            {
                throw new InvalidDataException($"Invalid data instead of CONNACK: {error}");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new IOException("The broker closed the connection before CONNACK.");
            }
        }
    }

    private static async ValueTask CloseQuietlyAsync(Stream? stream, Socket socket)
    {
        try
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException)
        {
            // Closing a broken connection.
        }

        socket.Dispose();
    }

    private async Task ReadLoopAsync(IPacketSink sink, CancellationToken cancellationToken)
    {
        await Task.Yield();
        while (true)
        {
            ReadResult result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            AcknowledgeAtOnce();
            ReadOnlySequence<byte> buffer = result.Buffer;
            try
            {
                while (true)
                {
                    FrameStatus status = PacketFramer.TryReadFrame(buffer, PacketFramer.ProtocolMaximumPacketSize, out PacketFrame frame, out SequencePosition consumed, out MqttDecodeError error);
                    if (status == FrameStatus.NeedMoreData)
                    {
                        break;
                    }

                    if (status == FrameStatus.Error)
                    {
                        throw new InvalidDataException($"Invalid data from the broker: {error}");
                    }

                    Volatile.Write(ref _lastReceivedMs, Environment.TickCount64);
                    Volatile.Write(ref _pingSentMs, 0);
                    sink.OnPacket(this, frame);
                    buffer = buffer.Slice(consumed);
                }
            }
            finally
            {
                _reader.AdvanceTo(buffer.Start, buffer.End);
            }

            if (result.IsCompleted)
            {
                throw new IOException("The broker closed the connection.");
            }
        }
    }

    /// <summary>
    /// Linux: switches the socket to quick-ack mode again (the kernel leaves it on its own), so TCP acknowledges the
    /// broker's segments at once instead of up to 40 ms later with the next data. A broker with Nagle's algorithm on
    /// (Mosquitto's default, set_tcp_nodelay false) holds its next PUBACK/PUBREC until the previous one is
    /// acknowledged, and this client's next data often waits for a commit: without quick acks the two stall each
    /// other. Elsewhere the option does not exist and this does nothing.
    /// </summary>
    private void AcknowledgeAtOnce()
    {
        if (!_quickAck)
        {
            return;
        }

        try
        {
            _socket.SetRawSocketOption(IpProtoTcp, TcpQuickAck, QuickAckOn);
        }
        catch (SocketException)
        {
            _quickAck = false;
        }
        catch (ObjectDisposedException)
        {
            // The connection is ending.
        }
    }

    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        ChannelReader<IMqttPacket> outbox = _outbox.Reader;
        var batch = new List<IMqttPacket>();
        while (await outbox.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            int size = 0;
            while (size < MaxWriteBatch && outbox.TryRead(out IMqttPacket? packet))
            {
                batch.Add(packet);
                size += packet.GetEncodedSize(_version);
            }

            byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                int length = 0;
                foreach (IMqttPacket packet in batch)
                {
                    length += packet.Encode(buffer.AsSpan(length), _version);
                }

                await _stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            batch.Clear();
            Volatile.Write(ref _lastSentMs, Environment.TickCount64);
        }

        // Closed by us (DISCONNECT was the last packet): let the broker see the end of the stream.
        _socket.Shutdown(SocketShutdown.Send);
    }

    private async Task KeepAliveLoopAsync(CancellationToken cancellationToken)
    {
        if (_keepAlive <= TimeSpan.Zero)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Sleeps until the next moment something can be due, not on a fixed period: an idle connection
        // wakes its process once per keep alive (to send PINGREQ), not several times (issue 14: a .NET
        // timer tick wakes about four threads under NativeAOT). Traffic only moves the moments later,
        // so a wake-up that finds nothing due just sleeps again.
        long keepAliveMs = (long)_keepAlive.TotalMilliseconds;
        while (true)
        {
            long now = Environment.TickCount64;
            long due;
            long pingSent = Volatile.Read(ref _pingSentMs);
            if (pingSent != 0)
            {
                // Any packet from the broker clears pingSent; none within the keep alive: it is gone.
                if (now - pingSent > keepAliveMs)
                {
                    throw new TimeoutException($"The broker did not answer PINGREQ within {_keepAlive}.");
                }

                due = pingSent + keepAliveMs + 1;
            }
            else
            {
                // §3.1.2.10: a control packet at least every keep alive; the broker's PINGRESP also
                // tells that it is still there when it has sent nothing for as long.
                long quietSince = Math.Min(Volatile.Read(ref _lastSentMs), Volatile.Read(ref _lastReceivedMs));
                if (now - quietSince >= keepAliveMs)
                {
                    Volatile.Write(ref _pingSentMs, now);
                    Send(PingReqPacket.Instance);
                    continue;
                }

                due = quietSince + keepAliveMs;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(due - now), cancellationToken).ConfigureAwait(false);
        }
    }
}

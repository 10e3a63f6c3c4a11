using System.Net;
using System.Net.Sockets;

namespace IoTPE.TestSupport;

/// <summary>A plain TCP connection for sending hand-made (often malformed) bytes and reading what comes back.</summary>
public sealed class RawConnection : IDisposable
{
    private readonly TcpClient _client;
    private NetworkStream _stream = null!;

    private RawConnection(TcpClient client)
    {
        _client = client;
    }

    /// <summary>Connects to the broker on 127.0.0.1, optionally from another loopback address (e.g. 127.0.0.2).</summary>
    public static async Task<RawConnection> OpenAsync(int port, IPAddress? from = null)
    {
        var connection = new RawConnection(from is null ? new TcpClient() : new TcpClient(new IPEndPoint(from, 0)));
        await connection._client.ConnectAsync(IPAddress.Loopback, port);
        connection._client.NoDelay = true;
        connection._stream = connection._client.GetStream();
        return connection;
    }

    public Task SendAsync(params byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    /// <summary>Reads until the server closes the connection or the timeout passes; says which happened.</summary>
    public async Task<(byte[] Received, bool Closed)> ReadUntilClosedAsync(TimeSpan timeout)
    {
        (byte[] received, ConnectionEnd end) = await ReadAllAsync(timeout);
        return (received, end != ConnectionEnd.StillOpen);
    }

    /// <summary>
    /// Reads until the server ends the connection and says how: with the end of the stream (a FIN,
    /// after which every byte it sent has been read) or with a reset (unread bytes may be lost).
    /// </summary>
    /// <exception cref="TimeoutException">The connection was still open after <paramref name="timeout"/>.</exception>
    public async Task<(byte[] Received, bool Reset)> ReadToEndAsync(TimeSpan timeout)
    {
        (byte[] received, ConnectionEnd end) = await ReadAllAsync(timeout);
        return end == ConnectionEnd.StillOpen
            ? throw new TimeoutException($"the server kept the connection open for {timeout}")
            : (received, end == ConnectionEnd.Reset);
    }

    private enum ConnectionEnd
    {
        StillOpen,
        EndOfStream,
        Reset,
    }

    private async Task<(byte[] Received, ConnectionEnd End)> ReadAllAsync(TimeSpan timeout)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                int n = await _stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    return ([.. received], ConnectionEnd.EndOfStream);
                }
                received.AddRange(buffer.AsSpan(0, n));
            }
        }
        catch (OperationCanceledException)
        {
            return ([.. received], ConnectionEnd.StillOpen);
        }
        catch (IOException)
        {
            return ([.. received], ConnectionEnd.Reset);
        }
    }

    /// <summary>Writes <paramref name="bytes"/>; false if the server has already reset the connection.</summary>
    public async Task<bool> TrySendAsync(byte[] bytes)
    {
        try
        {
            await _stream.WriteAsync(bytes);
            return true;
        }
        catch (IOException)
        {
            return false;
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
            int n = await _stream.ReadAsync(result.AsMemory(read), cts.Token);
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        return result[..read];
    }

    /// <summary>Reads one MQTT packet: its first byte and its body; fails when the connection closes or nothing comes in time.</summary>
    public async Task<(byte Type, byte[] Body)> ReadPacketAsync(TimeSpan timeout)
    {
        byte[] first = await ReadAsync(1, timeout);
        if (first.Length != 1)
        {
            throw new IOException("the connection closed or nothing came");
        }
        int remaining = 0, multiplier = 1;
        while (true)
        {
            byte[] next = await ReadAsync(1, timeout);
            if (next.Length != 1)
            {
                throw new IOException("the connection closed inside a packet's Remaining Length");
            }
            remaining += (next[0] & 0x7F) * multiplier;
            multiplier *= 128;
            if ((next[0] & 0x80) == 0)
            {
                break;
            }
        }
        byte[] body = remaining == 0 ? [] : await ReadAsync(remaining, timeout);
        if (body.Length != remaining)
        {
            throw new IOException($"the connection closed after {body.Length} of the packet's {remaining} bytes");
        }
        return (first[0], body);
    }

    /// <summary>Reads <paramref name="count"/> QoS 1 PUBLISH packets (3.1.1), acknowledging each, and returns their payloads.</summary>
    public async Task<List<string>> ReceiveAtLeastOnceAsync(int count, TimeSpan timeout)
    {
        var payloads = new List<string>();
        while (payloads.Count < count)
        {
            (byte type, byte[] body) = await ReadPacketAsync(timeout);
            if ((type & 0xF0) != 0x30)
            {
                throw new InvalidDataException($"expected a PUBLISH, got packet type {type >> 4}");
            }
            (ushort packetIdentifier, string payload) = RawMqtt.ReadPublish(body);
            await SendAsync(RawMqtt.PubAck(packetIdentifier));
            payloads.Add(payload);
        }
        return payloads;
    }

    public void Dispose() => _client.Dispose();
}

using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using IoTPE.Mqtt;

namespace IoTPE.Engine.Benchmarks;

/// <summary>A minimal MQTT 3.1.1 client on IoTPE's codec: enough to publish and receive for a benchmark.</summary>
internal sealed class BenchClient : IAsyncDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    private readonly byte[] _buffer = new byte[1 << 20];
    private int _length;
    private ushort _nextId;

    public Action<string, ReadOnlyMemory<byte>>? OnMessage { get; set; }

    public int Acknowledged;

    public async Task ConnectAsync(int port, string clientId, string user, string password)
    {
        await _socket.ConnectAsync(IPAddress.Loopback, port);
        await SendAsync(new ConnectPacket(MqttProtocolVersion.V311, clientId) { CleanStart = true, KeepAlive = 60, UserName = user, Password = Encoding.UTF8.GetBytes(password) });
        _ = Task.Run(ReadLoopAsync);
        for (int i = 0; i < 500 && !_connected; i++)
        {
            await Task.Delay(10);
        }
        if (!_connected)
        {
            throw new InvalidOperationException("no CONNACK");
        }
    }

    private volatile bool _connected;
    private volatile bool _subscribed;

    public async Task SubscribeAsync(string filter, QualityOfService qos)
    {
        await SendAsync(new SubscribePacket(++_nextId, [new TopicSubscription(filter, new SubscriptionOptions(qos))]));
        for (int i = 0; i < 500 && !_subscribed; i++)
        {
            await Task.Delay(10);
        }
    }

    public Task PublishAsync(string topic, byte[] payload, QualityOfService qos)
    {
        ushort id = qos == QualityOfService.AtMostOnce ? (ushort)0 : NextId();
        return SendAsync(new PublishPacket(topic, payload) { QoS = qos, PacketIdentifier = id });
    }

    private ushort NextId()
    {
        _nextId = (ushort)(_nextId % 65535 + 1);
        return _nextId;
    }

    private async Task SendAsync<T>(T packet) where T : IMqttPacket
    {
        byte[] bytes = new byte[packet.GetEncodedSize(MqttProtocolVersion.V311)];
        packet.Encode(bytes, MqttProtocolVersion.V311);
        await _socket.SendAsync(bytes, SocketFlags.None);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(_buffer.AsMemory(_length), SocketFlags.None);
                if (n == 0)
                {
                    return;
                }
                _length += n;
                int offset = 0;
                while (true)
                {
                    var sequence = new ReadOnlySequence<byte>(_buffer, offset, _length - offset);
                    if (PacketFramer.TryReadFrame(sequence, 1 << 20, out PacketFrame frame, out SequencePosition end, out _) != FrameStatus.Complete)
                    {
                        break;
                    }
                    Handle(frame);
                    offset += (int)sequence.Slice(0, end).Length;
                }
                Buffer.BlockCopy(_buffer, offset, _buffer, 0, _length - offset);
                _length -= offset;
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void Handle(in PacketFrame frame)
    {
        switch (frame.Type)
        {
            case PacketType.ConnAck:
                _connected = true;
                break;
            case PacketType.SubAck:
                _subscribed = true;
                break;
            case PacketType.PubAck:
                Interlocked.Increment(ref Acknowledged);
                break;
            case PacketType.Publish:
                if (PublishPacket.TryDecode(frame, MqttProtocolVersion.V311, out PublishPacket publish, out _))
                {
                    OnMessage?.Invoke(publish.GetTopicName(), publish.Payload.ToArray());
                    if (publish.QoS == QualityOfService.AtLeastOnce)
                    {
                        _ = SendAsync(new PubAckPacket(publish.PacketIdentifier));
                    }
                }
                break;
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

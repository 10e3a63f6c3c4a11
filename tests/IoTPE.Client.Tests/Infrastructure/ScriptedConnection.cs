using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using IoTPE.Mqtt;

namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>One client connection to a <see cref="ScriptedBroker"/>: send packets, expect packets.</summary>
public sealed class ScriptedConnection : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;

    internal ScriptedConnection(Socket socket)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = PipeReader.Create(_stream);
    }

    public ConnectPacket Connect { get; private set; } = null!;

    public MqttProtocolVersion Version => Connect.ProtocolVersion;

    public async Task SendAsync(IMqttPacket packet)
    {
        byte[] buffer = new byte[packet.GetEncodedSize(Connect?.ProtocolVersion ?? MqttProtocolVersion.V500)];
        packet.Encode(buffer, Connect?.ProtocolVersion ?? MqttProtocolVersion.V500);
        await _stream.WriteAsync(buffer);
    }

    /// <summary>A QoS 1/2 PUBLISH from the broker.</summary>
    public Task SendPublishAsync(ushort packetId, string topic, string payload, QualityOfService qos = QualityOfService.ExactlyOnce, bool dup = false) =>
        SendAsync(new PublishPacket(topic, System.Text.Encoding.UTF8.GetBytes(payload)) { PacketIdentifier = packetId, QoS = qos, Dup = dup });

    /// <summary>The next packet (PINGREQ skipped): a decoded packet object (PUBLISH boxed, its topic and payload copied).</summary>
    public async Task<object> ReceiveAsync(TimeSpan? timeout = null)
    {
        while (true)
        {
            object packet = await ReceiveAnyAsync(timeout);
            if (packet is not PingReqPacket)
            {
                return packet;
            }

            await SendAsync(PingRespPacket.Instance);
        }
    }

    /// <summary>The next packet, which must be a <typeparamref name="T"/>.</summary>
    public async Task<T> ExpectAsync<T>(TimeSpan? timeout = null)
    {
        object packet = await ReceiveAsync(timeout);
        return packet is T expected ? expected : throw new Xunit.Sdk.XunitException($"Expected {typeof(T).Name}, got {Describe(packet)}");
    }

    /// <summary>Asserts that nothing (but PINGREQ) arrives for <paramref name="period"/>.</summary>
    public async Task ExpectNothingAsync(TimeSpan period)
    {
        try
        {
            object packet = await ReceiveAsync(period);
            throw new Xunit.Sdk.XunitException($"Expected nothing, got {Describe(packet)}");
        }
        catch (OperationCanceledException)
        {
            // Nothing came.
        }
    }

    /// <summary>The next packet, PINGREQ included (without answering it).</summary>
    public async Task<object> ReceiveAnyAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            ReadResult result = await _reader.ReadAsync(cts.Token);
            ReadOnlySequence<byte> buffer = result.Buffer;
            FrameStatus status = PacketFramer.TryReadFrame(buffer, PacketFramer.ProtocolMaximumPacketSize, out PacketFrame frame, out SequencePosition consumed, out MqttDecodeError error);
            if (status == FrameStatus.Complete)
            {
                try
                {
                    return Decode(frame);
                }
                finally
                {
                    _reader.AdvanceTo(consumed);
                }
            }

            if (status == FrameStatus.Error)
            {
                throw new InvalidDataException(error.ToString());
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new EndOfStreamException("The client closed the connection.");
            }
        }
    }

    /// <summary>Closes the connection abruptly (as a network failure would).</summary>
    public void Drop()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public async ValueTask DisposeAsync()
    {
        await _reader.CompleteAsync();
        await _stream.DisposeAsync();
    }

    internal async Task ReadConnectAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await _reader.ReadAsync(cancellationToken);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (PacketFramer.TryReadFrame(buffer, PacketFramer.ProtocolMaximumPacketSize, out PacketFrame frame, out SequencePosition consumed, out _) == FrameStatus.Complete)
            {
                try
                {
                    if (!ConnectPacket.TryDecode(frame, out ConnectPacket? connect, out MqttDecodeError error, out _))
                    {
                        throw new InvalidDataException(error.ToString());
                    }

                    Connect = connect;
                    return;
                }
                finally
                {
                    _reader.AdvanceTo(consumed);
                }
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static string Describe(object packet) => packet switch
    {
        PublishPacket p => $"PUBLISH {p.GetTopicName()} id {p.PacketIdentifier} QoS {(int)p.QoS} dup {p.Dup}",
        PublishAcknowledgementPacket a => $"{a.Type} {a.PacketIdentifier}",
        _ => packet.GetType().Name,
    };

    private object Decode(in PacketFrame frame)
    {
        MqttProtocolVersion version = Version;
        MqttDecodeError error = default;
        object? packet = frame.Type switch
        {
            PacketType.Publish when PublishPacket.TryDecode(frame, version, out PublishPacket p, out error) =>
                p with { TopicName = p.TopicName.ToArray(), Payload = p.Payload.ToArray() },
            PacketType.PubAck when PubAckPacket.TryDecode(frame, version, out PubAckPacket? a, out error) => a,
            PacketType.PubRec when PubRecPacket.TryDecode(frame, version, out PubRecPacket? a, out error) => a,
            PacketType.PubRel when PubRelPacket.TryDecode(frame, version, out PubRelPacket? a, out error) => a,
            PacketType.PubComp when PubCompPacket.TryDecode(frame, version, out PubCompPacket? a, out error) => a,
            PacketType.Subscribe when SubscribePacket.TryDecode(frame, version, out SubscribePacket? s, out error) => s,
            PacketType.Unsubscribe when UnsubscribePacket.TryDecode(frame, version, out UnsubscribePacket? u, out error) => u,
            PacketType.PingReq when PingReqPacket.TryDecode(frame, version, out PingReqPacket? r, out error) => r,
            PacketType.Disconnect when DisconnectPacket.TryDecode(frame, version, out DisconnectPacket? d, out error) => d,
            _ => null,
        };
        return packet ?? throw new InvalidDataException($"Cannot decode {frame.Type}: {error}");
    }
}

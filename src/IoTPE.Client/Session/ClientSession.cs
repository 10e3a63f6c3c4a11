using IoTPE.Client.Dispatch;
using IoTPE.Client.Logging;
using IoTPE.Client.Storage;
using IoTPE.Client.Transport;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Client.Session;

/// <summary>
/// The client side of one MQTT session (spec 4.1): the current connection, if any, and the state that outlives it —
/// outgoing and incoming QoS 1/2 flows, subscriptions, packet identifiers — split into one part per protocol
/// responsibility. Every part works under <see cref="Gate"/>; nothing under it waits for I/O: packets go to the
/// connection's write queue, state changes to the store's queue.
/// </summary>
internal sealed class ClientSession : IPacketSink
{
    private MqttConnection? _connection;
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private StateStore? _store;

    public ClientSession(MqttClientOptions options, ILogger logger, CancellationToken stopping)
    {
        Options = options;
        Logger = logger;
        Stopping = stopping;
        DeadLetters = new DeadLetterNotifier(options, logger, stopping);
        Outgoing = new OutgoingPublishes(this);
        Incoming = new IncomingPublishes(this);
        Subscriptions = new SubscriptionRequests(this);
        Dispatcher = new HandlerDispatcher(this);
    }

    /// <summary>The lock that guards all session state.</summary>
    public Lock Gate { get; } = new();

    public MqttClientOptions Options { get; }

    public ILogger Logger { get; }

    /// <summary>Cancelled when the client is disposed.</summary>
    public CancellationToken Stopping { get; }

    public MqttProtocolVersion Version => Options.ProtocolVersion;

    public PacketIdentifierPool Ids { get; } = new();

    public OutgoingPublishes Outgoing { get; }

    public IncomingPublishes Incoming { get; }

    public SubscriptionRequests Subscriptions { get; }

    public HandlerDispatcher Dispatcher { get; }

    public DeadLetterNotifier DeadLetters { get; }

    /// <summary>The state file's writer; set once the client has started.</summary>
    public StateStore Store => _store ?? throw new InvalidOperationException("The client has not been started: call StartAsync first.");

    public bool IsStarted => _store is not null;

    /// <summary>Whether a connection is up (read under <see cref="Gate"/> for a consistent answer).</summary>
    public bool IsConnected => _connection is not null;

    /// <summary>Takes over the state left in the state file by an earlier run.</summary>
    public void Restore(StateStore store, List<IncomingRow> incoming, List<ushort> outgoingPacketIds)
    {
        lock (Gate)
        {
            _store = store;
            foreach (ushort id in outgoingPacketIds)
            {
                Ids.Reserve(id);
            }

            Incoming.Restore(incoming);
            Outgoing.Restore();
        }
    }

    /// <summary>Queues a packet on the current connection; dropped when there is none (session state is resent on reconnection). Call under <see cref="Gate"/>.</summary>
    public void Send(IMqttPacket packet) => _connection?.Send(packet);

    /// <summary>Drops the current connection (e.g. after a state file failure); the client reconnects.</summary>
    public void AbortConnection() => _connection?.Abort();

    /// <summary>Makes <paramref name="connection"/> (just accepted by CONNACK) the session's connection and resumes the flows on it.</summary>
    public void Attach(MqttConnection connection)
    {
        lock (Gate)
        {
            _connection = connection;
            bool sessionPresent = connection.ConnAck.SessionPresent;
            Incoming.OnConnected(sessionPresent);
            Subscriptions.OnConnected(sessionPresent);
            Outgoing.OnConnected(sessionPresent, connection.ConnAck);
            _connected.TrySetResult();
        }
    }

    /// <summary>Forgets <paramref name="connection"/> once it ended.</summary>
    public void Detach(MqttConnection connection)
    {
        lock (Gate)
        {
            if (!ReferenceEquals(_connection, connection))
            {
                return;
            }

            _connection = null;
            _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Subscriptions.OnDisconnected();
        }
    }

    /// <summary>Completes when a connection is up.</summary>
    public Task WaitUntilConnectedAsync(CancellationToken cancellationToken)
    {
        Task connected;
        lock (Gate)
        {
            connected = _connected.Task;
        }

        return connected.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public void OnPacket(MqttConnection source, in PacketFrame frame)
    {
        lock (Gate)
        {
            if (!ReferenceEquals(source, _connection))
            {
                return;
            }

            Route(frame);
        }
    }

    private void Route(in PacketFrame frame)
    {
        MqttDecodeError error = default;
        switch (frame.Type)
        {
            case PacketType.Publish when PublishPacket.TryDecode(frame, Version, out PublishPacket publish, out error):
                Incoming.OnPublish(publish);
                return;
            case PacketType.PubAck when PubAckPacket.TryDecode(frame, Version, out PubAckPacket? ack, out error):
                Outgoing.OnPubAck(ack.PacketIdentifier, ack.ReasonCode);
                return;
            case PacketType.PubRec when PubRecPacket.TryDecode(frame, Version, out PubRecPacket? received, out error):
                Outgoing.OnPubRec(received.PacketIdentifier, received.ReasonCode);
                return;
            case PacketType.PubRel when PubRelPacket.TryDecode(frame, Version, out PubRelPacket? release, out error):
                Incoming.OnPubRel(release.PacketIdentifier);
                return;
            case PacketType.PubComp when PubCompPacket.TryDecode(frame, Version, out PubCompPacket? complete, out error):
                Outgoing.OnPubComp(complete.PacketIdentifier);
                return;
            case PacketType.SubAck when SubAckPacket.TryDecode(frame, Version, out SubAckPacket? subAck, out error):
                Subscriptions.OnSubAck(subAck);
                return;
            case PacketType.UnsubAck when UnsubAckPacket.TryDecode(frame, Version, out UnsubAckPacket? unsubAck, out error):
                Subscriptions.OnUnsubAck(unsubAck);
                return;
            case PacketType.PingResp when PingRespPacket.TryDecode(frame, Version, out _, out error):
                return;
            case PacketType.Disconnect when DisconnectPacket.TryDecode(frame, Version, out DisconnectPacket? disconnect, out error):
                ClientLog.ServerDisconnected(Logger, disconnect.ReasonCode, disconnect.ReasonString ?? string.Empty);
                throw new IOException($"The broker disconnected: {disconnect.ReasonCode} {disconnect.ReasonString}");
            case PacketType.Publish or PacketType.PubAck or PacketType.PubRec or PacketType.PubRel or PacketType.PubComp or
                 PacketType.SubAck or PacketType.UnsubAck or PacketType.PingResp or PacketType.Disconnect:
                break;
            default:
                error = new MqttDecodeError(ReasonCode.ProtocolError, $"a server does not send {frame.Type}");
                break;
        }

        throw new InvalidDataException($"Invalid {frame.Type} from the broker: {error}");
    }
}

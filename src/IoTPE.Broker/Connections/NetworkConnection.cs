using System.Buffers;
using System.Net;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Protocol;
using IoTPE.Broker.Sessions;
using IoTPE.Broker.Transport;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Connections;

/// <summary>
/// One client's network connection: reads bytes, cuts them into packets and hands them to the
/// <see cref="PacketDispatcher"/> under the broker lock, many per pass; gathers what the broker
/// sends in an <see cref="OutputBuffer"/>; and holds the per-connection protocol state (version,
/// keep-alive, topic aliases, the client's limits).
/// </summary>
internal sealed class NetworkConnection : IClientConnection, IFlushable, IOutputSink
{
    private readonly BrokerState _state;
    private readonly PacketDispatcher _dispatcher;
    private readonly ITransport _transport;
    private readonly InputBuffer _input = new();
    private readonly OutputBuffer _output;
    private Dictionary<string, ushort>? _outgoingTopicAliases;
    private TopicNameCache? _topicNames;
    private int _closing;
    private int _closeScheduled;
    private int _resumeDeliveriesWhenDrained;
    private IClientConnection? _congestedConsumer;
    private bool _pausedWithInputLeft;
    private bool _pausedForCommits;

    public NetworkConnection(BrokerState state, PacketDispatcher dispatcher, ITransport transport, string listener)
    {
        _state = state;
        _dispatcher = dispatcher;
        _transport = transport;
        Listener = listener;
        _output = new OutputBuffer(this);
        AcceptedAt = state.Time.GetTimestamp();
        LastReceivedAt = AcceptedAt;
        RateLimiter = new PublishRateLimiter(state.Options.MaxPublishRatePerConnection, state.Time);
    }

    public string Listener { get; }

    public EndPoint? RemoteEndPoint => _transport.RemoteEndPoint;

    public ITransport Transport => _transport;

    /// <summary>Where the connection is in its life. Set under the broker lock once CONNECT is accepted.</summary>
    public ConnectionPhase Phase { get; private set; } = ConnectionPhase.AwaitingConnect;

    /// <summary>This connection's place among the <see cref="PendingConnections"/> until CONNECT is accepted.</summary>
    public LinkedListNode<NetworkConnection>? PendingEntry { get; set; }

    public MqttProtocolVersion ProtocolVersion { get; private set; } = MqttProtocolVersion.V311;

    /// <summary>
    /// The version the client speaks, as far as its CONNECT tells: refusals and everything after
    /// CONNECT are encoded in it (§3.1.2.2: a refused version is answered in the client's own).
    /// </summary>
    public void Speak(MqttProtocolVersion version) => ProtocolVersion = version;

    /// <summary>
    /// What the accepted CONNECT set for the rest of the connection's life: the granted Keep Alive,
    /// the client's Receive Maximum (or the broker's in-flight limit for 3.1.1), its Maximum Packet
    /// Size and its Topic Alias Maximum (§3.1.2.10, §3.1.2.11). Under the broker lock.
    /// </summary>
    public void AcceptTerms(ushort keepAliveSeconds, int sendWindow, uint clientMaximumPacketSize, ushort clientTopicAliasMaximum)
    {
        KeepAliveSeconds = keepAliveSeconds;
        SendWindow = sendWindow;
        ClientMaximumPacketSize = clientMaximumPacketSize;
        ClientTopicAliasMaximum = clientTopicAliasMaximum;
    }

    /// <summary>The session once CONNECT succeeded.</summary>
    public Session? Session { get; private set; }

    /// <summary>CONNECT was accepted: the connection carries <paramref name="session"/>. Under the broker lock.</summary>
    public void AttachTo(Session session)
    {
        Session = session;
        Phase = ConnectionPhase.Connected;
        _state.PendingConnections.Remove(this);
    }

    public void DetachFromSession()
    {
        Session = null;
        Relief.Signal(); // nobody waits for a connection without a session
    }

    /// <summary>The client identifier for logs, before and after CONNECT.</summary>
    public string ClientId => Session?.ClientId ?? "(connecting)";

    /// <summary>Keep Alive in seconds granted to the client; 0 = none.</summary>
    public ushort KeepAliveSeconds { get; private set; }

    /// <summary>When bytes last arrived (a timestamp of the broker's <see cref="TimeProvider"/>).</summary>
    public long LastReceivedAt { get; private set; }

    /// <summary>When the connection was accepted (a timestamp of the broker's <see cref="TimeProvider"/>).</summary>
    public long AcceptedAt { get; }

    /// <summary>The client's Receive Maximum (MQTT 5.0) or the broker's in-flight limit (3.1.1).</summary>
    public int SendWindow { get; private set; } = 1000;

    /// <summary>The client's Maximum Packet Size; 0 = no limit beyond the protocol's.</summary>
    public uint ClientMaximumPacketSize { get; private set; }

    /// <summary>The client's Topic Alias Maximum: how many aliases the broker may set towards it.</summary>
    public ushort ClientTopicAliasMaximum { get; private set; }

    /// <summary>Topic aliases the client set towards the broker (MQTT 5.0 §3.3.2.3.4).</summary>
    public IncomingTopicAliases IncomingTopicAliases => _incomingTopicAliases ??= new IncomingTopicAliases();

    private IncomingTopicAliases? _incomingTopicAliases;

    /// <summary>Recent topic names of this client's PUBLISH packets.</summary>
    public TopicNameCache TopicNames => _topicNames ??= new TopicNameCache();

    /// <summary>QoS 1/2 PUBLISH packets received and not yet acknowledged, against our Receive Maximum.</summary>
    public int IncomingInFlight { get; private set; }

    public int AdmitIncoming() => ++IncomingInFlight;

    public void ReleaseIncoming() => IncomingInFlight--;

    /// <summary>Keeps this client within <see cref="BrokerOptions.MaxPublishRatePerConnection"/>.</summary>
    public PublishRateLimiter RateLimiter { get; }

    public bool AcceptsQoS0 => _output.PendingBytes < _state.Options.MaxPendingOutputBytes;

    // Read without the broker lock: a stale value only shortens or lengthens a pause. A client that
    // has gone is not waited for (its session's queue may stay long while it is offline).
    public bool IsCongested =>
        !IsClosing && Session is { } session && ReferenceEquals(session.Connection, this) &&
        (_output.PendingBytes >= _state.Options.OutputBackpressureBytes || session.QueuedCount >= _state.Options.QueueBackpressureMessages);

    public ConsumerRelief Relief { get; } = new();

    public bool HoldsBackDeliveries
    {
        get
        {
            if (_output.PendingBytes < _state.Options.OutputBackpressureBytes)
            {
                return false;
            }
            Volatile.Write(ref _resumeDeliveriesWhenDrained, 1);
            return true;
        }
    }

    // Called after each send, outside the broker lock: the deliveries held back go on in a pass of their own.
    private void ResumeDeliveriesIfDrained()
    {
        if (Volatile.Read(ref _resumeDeliveriesWhenDrained) == 0 || _output.PendingBytes >= _state.Options.OutputBackpressureBytes ||
            Interlocked.Exchange(ref _resumeDeliveriesWhenDrained, 0) == 0 || IsClosing)
        {
            return;
        }
        _state.RunPass(() =>
        {
            if (Session is { } session && ReferenceEquals(session.Connection, this))
            {
                _state.ResumeDeliveries?.Invoke(session);
            }
        });
    }

    public void OnDrained()
    {
        if (Relief.HasWaiters && !IsCongested)
        {
            Relief.Signal();
        }
    }

    public bool IsMarkedDirty { get; set; }

    public bool IsClosing => Volatile.Read(ref _closing) != 0;

    /// <summary>Reads and processes packets until the connection ends.</summary>
    public async Task RunAsync()
    {
        string closeReason = "connection closed by the client";
        try
        {
            while (true)
            {
                if (_transport.SupportsZeroByteReads && _input.IsEmpty)
                {
                    // Wait for data without holding a buffer: idle connections cost no receive memory.
                    _input.ReleaseIfEmpty();
                    await _transport.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
                }
                int received = await _transport.ReceiveAsync(_input.GetWritableMemory(), CancellationToken.None).ConfigureAwait(false);
                if (received == 0)
                {
                    break;
                }
                _input.Advance(received);
                _state.Counters.AddBytesReceived(received);
                LastReceivedAt = _state.Time.GetTimestamp();
                if (IsClosing)
                {
                    // The broker is closing this connection and lingers (see CloseAfterFlush): what
                    // the client still sends is read and discarded until it closes its side.
                    closeReason = "closed by the broker";
                    _input.Consume(_input.Data.Length);
                    continue;
                }
                if (!await ProcessReceivedAsync().ConfigureAwait(false))
                {
                    closeReason = "closed by the broker";
                    CloseAfterFlush();
                }
            }
        }
        catch (OperationCanceledException)
        {
            closeReason = "closed by the broker";
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or System.Net.WebSockets.WebSocketException)
        {
            closeReason = IsClosing ? "closed by the broker" : "network error: " + e.Message;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug must cost this connection only, and must not pass silently.
            closeReason = "internal error";
            _state.Log.ConnectionInternalError(ClientId, RemoteEndPoint, e);
        }
        finally
        {
            _input.Release();
            _state.Lock.Enter();
            try
            {
                _dispatcher.OnConnectionLost(this, closeReason);
            }
            finally
            {
                _state.EndPassAndUnlock();
            }
            await CloseTransportAsync().ConfigureAwait(false);
        }
    }

    // Backpressure: a subscriber that reads (QoS 0) or acknowledges (QoS 1/2) more slowly than this
    // client publishes makes this client pause, before the rest of what it sent is processed and
    // before its next read, so TCP slows it down instead of the broker dropping messages (one read
    // can hold thousands of small QoS 0 publishes). A pause is bounded: a subscriber that stops
    // altogether must not stall its publishers for good, so once a pause ends with the subscriber
    // still congested, the rest of the read is processed without pausing again; its bytes then pile
    // up to MaxPendingOutputBytes (QoS 0) or its queue to MaxQueuedMessages (QoS 1/2), and what
    // overflows is dropped, counted and logged.
    private async ValueTask<bool> ProcessReceivedAsync()
    {
        bool pauseForConsumers = true;
        while (true)
        {
            // Once connected, processing never waits: no state machine for it on each read.
            bool keepGoing = Phase == ConnectionPhase.AwaitingConnect
                ? await ProcessInputAsync(pauseForConsumers).ConfigureAwait(false)
                : ProcessInput(pauseForConsumers);
            if (!keepGoing)
            {
                return false;
            }
            await RateLimiter.ThrottleAsync(CancellationToken.None).ConfigureAwait(false);
            if (_pausedForCommits)
            {
                _pausedForCommits = false;
                await WaitForCommitsAsync().ConfigureAwait(false);
            }
            if (_congestedConsumer is { } consumer)
            {
                _congestedConsumer = null;
                _state.CountPublisherPause(+1);
                try
                {
                    pauseForConsumers = await WaitForConsumerAsync(consumer).ConfigureAwait(false);
                }
                finally
                {
                    _state.CountPublisherPause(-1);
                }
            }
            if (!_pausedWithInputLeft)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// Waits until the store's commits bring the payload bytes they hold below
    /// <see cref="BrokerOptions.MaxUncommittedPayloadBytes"/>. Unlike a consumer's, this wait has no
    /// limit: every commit completes (durable or failed) and gives its bytes back. A connection the
    /// broker closes meanwhile stops waiting.
    /// </summary>
    private async ValueTask WaitForCommitsAsync()
    {
        DurabilityTracker durability = _state.Durability;
        _state.CountPublisherPause(+1);
        try
        {
            while (!IsClosing)
            {
                Task relieved = durability.CommitRelief.Arm();
                // Checked after arming, so that a commit in between is not missed (see ConsumerRelief.Arm).
                if (!durability.IsOverPayloadBudget)
                {
                    return;
                }
                await relieved.WaitAsync(CommitWaitRecheck, _state.Time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        finally
        {
            _state.CountPublisherPause(-1);
        }
    }

    private static readonly TimeSpan CommitWaitRecheck = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Waits, at most <see cref="ConsumerWaitLimit"/> on the broker's clock, until the consumer keeps
    /// up again; false if it still does not. The consumer's drains and its close signal its
    /// <see cref="IClientConnection.Relief"/>; nothing is polled.
    /// </summary>
    private async ValueTask<bool> WaitForConsumerAsync(IClientConnection consumer)
    {
        long started = _state.Time.GetTimestamp();
        while (true)
        {
            Task relieved = consumer.Relief.Arm();
            // Checked after arming, so that a drain in between is not missed (see ConsumerRelief.Arm).
            if (!consumer.IsCongested)
            {
                return true;
            }
            TimeSpan left = ConsumerWaitLimit - _state.Time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }
            // A timeout is an answer here, not an error: no exception is thrown for it.
            await relieved.WaitAsync(left, _state.Time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static readonly TimeSpan ConsumerWaitLimit = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Processes the complete packets in the input: all of them, or, with <paramref name="pauseForConsumers"/>,
    /// up to the first that leaves a subscriber congested (<see cref="_pausedWithInputLeft"/> then says
    /// whether packets remain). Returns false when the connection must end.
    /// </summary>
    private async ValueTask<bool> ProcessInputAsync(bool pauseForConsumers)
    {
        _pausedWithInputLeft = false;
        while (Phase == ConnectionPhase.AwaitingConnect)
        {
            ReadOnlySequence<byte> sequence = _input.Sequence;
            // Before CONNECT is accepted a client has proved nothing, so it gets a small packet limit:
            // a flood of half-sent huge CONNECTs must not hold the memory of the largest packets.
            FrameStatus status = PacketFramer.TryReadFrame(sequence, Math.Min(_state.Options.MaxConnectPacketSize, _state.Options.MaximumPacketSize), out PacketFrame frame, out SequencePosition consumed, out MqttDecodeError error);
            if (status == FrameStatus.NeedMoreData)
            {
                return true;
            }
            if (status == FrameStatus.Error || frame.Type != PacketType.Connect)
            {
                // §3.1: the first packet must be CONNECT; anything else ends the connection.
                string reason = status == FrameStatus.Error ? error.Message : "first packet was not CONNECT";
                _state.Log.ConnectionRefused(RemoteEndPoint, ClientId, status == FrameStatus.Error ? error.ReasonCode : ReasonCode.ProtocolError, reason);
                _state.RunPass(() => _state.Counters.ConnectionsRefused++);
                return false;
            }
            Phase = ConnectionPhase.Authenticating;
            bool accepted = await _dispatcher.ConnectAsync(this, frame).ConfigureAwait(false);
            _input.Consume((int)sequence.Slice(0, consumed).Length);
            if (!accepted)
            {
                return false;
            }
        }
        return ProcessInput(pauseForConsumers);
    }

    /// <summary>
    /// <see cref="ProcessInputAsync"/> once CONNECT has been accepted: the packets of a connected
    /// client, in one pass under the broker lock.
    /// </summary>
    private bool ProcessInput(bool pauseForConsumers)
    {
        _pausedWithInputLeft = false;
        if (_input.IsEmpty)
        {
            return true;
        }
        bool keepGoing = true;
        _state.Lock.Enter();
        try
        {
            ReadOnlySequence<byte> sequence = _input.Sequence;
            long consumedBytes = 0;
            while (keepGoing && !IsClosing)
            {
                FrameStatus status = PacketFramer.TryReadFrame(sequence, _state.Options.MaximumPacketSize, out PacketFrame frame, out SequencePosition consumed, out MqttDecodeError error);
                if (status == FrameStatus.NeedMoreData)
                {
                    break;
                }
                if (status == FrameStatus.Error)
                {
                    ProtocolViolation(error.ReasonCode, error.Message);
                    keepGoing = false;
                    break;
                }
                long length = sequence.Slice(0, consumed).Length;
                keepGoing = _dispatcher.Dispatch(this, frame);
                consumedBytes += length;
                sequence = sequence.Slice(consumed);
                if (pauseForConsumers && _state.CongestedConsumer is { } congested && !ReferenceEquals(congested, this))
                {
                    _pausedWithInputLeft = !sequence.IsEmpty;
                    break;
                }
                if (_state.Durability.IsOverPayloadBudget)
                {
                    _pausedForCommits = true;
                    _pausedWithInputLeft = !sequence.IsEmpty;
                    break;
                }
            }
            _input.Consume((int)consumedBytes);
            if (_state.CongestedConsumer is { } consumer && !ReferenceEquals(consumer, this))
            {
                _congestedConsumer = consumer;
            }
        }
        finally
        {
            _state.EndPassAndUnlock();
        }
        return keepGoing && !IsClosing;
    }

    /// <summary>Ends the connection for a protocol violation: DISCONNECT with the reason (5.0) and close.</summary>
    public void ProtocolViolation(ReasonCode reasonCode, string reason)
    {
        _state.Log.ProtocolViolation(ClientId, RemoteEndPoint, reasonCode, reason);
        Disconnect(reasonCode, reason);
    }

    public bool SendPublish(ApplicationMessage message, ReadOnlyMemory<byte> payload, QualityOfService qos, bool retain, bool dup, ushort packetIdentifier, uint[]? subscriptionIdentifiers, long nowUnixMs)
    {
        ReadOnlyMemory<byte> topic = message.TopicUtf8;
        PublishProperties? properties = null;
        ushort newAlias = 0;
        if (ProtocolVersion == MqttProtocolVersion.V500)
        {
            properties = message.Properties;
            uint? expiry = null;
            if (message.ExpiresAtUnixMs is { } expiresAt)
            {
                // §3.3.2.3.3: the interval as received minus the time the message waited here.
                expiry = (uint)Math.Max(1, (expiresAt - nowUnixMs + 999) / 1000);
            }
            ushort? alias = null;
            if (ClientTopicAliasMaximum > 0)
            {
                _outgoingTopicAliases ??= new Dictionary<string, ushort>(StringComparer.Ordinal);
                if (_outgoingTopicAliases.TryGetValue(message.Topic, out ushort existing))
                {
                    alias = existing;
                    topic = ReadOnlyMemory<byte>.Empty;
                }
                else if (_outgoingTopicAliases.Count < ClientTopicAliasMaximum)
                {
                    newAlias = (ushort)(_outgoingTopicAliases.Count + 1);
                    alias = newAlias;
                }
            }
            if (expiry is not null || subscriptionIdentifiers is not null || alias is not null)
            {
                properties = new PublishProperties(message.Properties ?? EmptyProperties)
                {
                    MessageExpiryInterval = expiry,
                    SubscriptionIdentifiers = subscriptionIdentifiers ?? [],
                    TopicAlias = alias,
                };
            }
        }
        var packet = new PublishPacket(topic, payload)
        {
            QoS = qos,
            Retain = retain,
            Dup = dup,
            PacketIdentifier = qos == QualityOfService.AtMostOnce ? (ushort)0 : packetIdentifier,
            Properties = properties,
        };
        if (ClientMaximumPacketSize != 0 && packet.GetEncodedSize(ProtocolVersion) > ClientMaximumPacketSize)
        {
            return false;
        }
        if (newAlias != 0)
        {
            _outgoingTopicAliases!.Add(message.Topic, newAlias);
        }
        Send(packet);
        return true;
    }

    void IClientConnection.Send(IMqttPacket packet) => Send(packet);

    /// <summary>Buffers <paramref name="packet"/> for the end of the pass (generic: a PUBLISH is a struct, sent unboxed).</summary>
    public void Send<TPacket>(in TPacket packet) where TPacket : IMqttPacket
    {
        if (Volatile.Read(ref _closeScheduled) != 0)
        {
            // §4.13: nothing follows the DISCONNECT, e.g. acknowledgements whose commit completes later.
            return;
        }
        _output.Write(packet, ProtocolVersion);
        _state.MarkDirty(this);
    }

    public void Disconnect(ReasonCode reasonCode, string? reasonString)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }
        if (ProtocolVersion == MqttProtocolVersion.V500 && Phase == ConnectionPhase.Connected)
        {
            // §4.13: the server may send DISCONNECT with a reason code before closing.
            Send(new DisconnectPacket(reasonCode) { ReasonString = reasonString });
        }
        CloseAfterFlush();
    }

    /// <summary>
    /// Closes once what is buffered (e.g. a DISCONNECT or a CONNACK refusing the client) has been
    /// sent: the broker half-closes, then reads and discards until the client closes its side, for
    /// at most <see cref="CloseLinger"/>. Closing at once would let a client that is still writing
    /// (a PUBREL, say) get a reset before it has read the packet that says why (MQTT 5.0 §4.13).
    /// </summary>
    public void CloseAfterFlush()
    {
        Volatile.Write(ref _closing, 1);
        if (Interlocked.Exchange(ref _closeScheduled, 1) != 0)
        {
            return;
        }
        _output.WhenDrained(_transport.ShutdownSend);
        Relief.Signal(); // a closing client is not waited for
        _ = AbortAfterLingerAsync();
    }

    // Bounds the linger, also for a client that neither reads what is left to send nor closes.
    private async Task AbortAfterLingerAsync()
    {
        await Task.Delay(CloseLinger, _state.Time).ConfigureAwait(false);
        // Aborting the transport also ends the read loop: its pending receive fails.
        _transport.Abort();
    }

    /// <summary>How long a closing connection waits for its client to read the last packets and close.</summary>
    private static readonly TimeSpan CloseLinger = TimeSpan.FromSeconds(2);

    public void Flush() => _output.Flush();

    int IOutputSink.TrySendNow(ReadOnlySpan<byte> data)
    {
        int sent = _transport.TrySendNow(data);
        if (sent > 0)
        {
            _state.Counters.AddBytesSent(sent);
        }
        return sent;
    }

    async ValueTask IOutputSink.SendAsync(ReadOnlyMemory<byte> data)
    {
        await _transport.SendAsync(data, CancellationToken.None).ConfigureAwait(false);
        _state.Counters.AddBytesSent(data.Length);
    }

    void IOutputSink.OnSent()
    {
        OnDrained();
        ResumeDeliveriesIfDrained();
    }

    void IOutputSink.OnSendFailed(Exception error)
    {
        Volatile.Write(ref _closing, 1);
        Relief.Signal();
        _transport.Abort();
    }

    private async ValueTask CloseTransportAsync()
    {
        _output.Close();
        Relief.Signal(); // detached from its session by now: nobody waits for it any more
        try
        {
            _transport.Abort();
            await _transport.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            // Closing a broken connection.
        }
    }

    private static readonly PublishProperties EmptyProperties = new();
}

/// <summary>Where a network connection is in its life.</summary>
internal enum ConnectionPhase
{
    AwaitingConnect,
    Authenticating,
    Connected,
}

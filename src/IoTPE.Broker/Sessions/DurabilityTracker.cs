using IoTPE.Broker.Connections;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Storage;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Sessions;

/// <summary>
/// Holds back what must wait for the store: acknowledgements of QoS 1/2 PUBLISH packets and
/// deliveries whose state is not yet durable (docs/architecture.md, "The durability contract"). Each pass that wrote
/// something the protocol depends on ends with one <see cref="IBrokerStore.WhenDurable"/> request:
/// an <em>epoch</em>. Deliveries remember the epoch they wait for; acknowledgements and actions are
/// kept per epoch. Epochs complete in order, so acknowledgements keep the order of the PUBLISH
/// packets, and a failed commit refuses exactly what depended on it. Used under the broker lock.
/// </summary>
internal sealed class DurabilityTracker
{
    private readonly BrokerState _state;
    private List<PendingAcknowledgement> _acknowledgements = [];
    private List<Action<bool>> _actions = [];
    private List<Session> _waitingSessions = [];
    // The lists of the last pass that completed at once, emptied for the next pass: most passes of a
    // broker without persistent sessions do, and a list each per pass would be garbage per message.
    private List<PendingAcknowledgement>? _spareAcknowledgements;
    private List<Action<bool>>? _spareActions;
    private List<Session>? _spareSessions;
    // The sessions each epoch in progress reports to, once its pass has ended.
    private readonly Dictionary<long, List<Session>> _pendingSessions = [];
    private long _registeredEpochs;
    // Payload bytes stored in the current pass, and in all epochs not yet complete (see UncommittedPayloadBytes).
    private long _passPayloadBytes;
    private bool _passSettles; // the pass handed a stored delivery over before its commit
    private long _uncommittedPayloadBytes;

    public DurabilityTracker(BrokerState state)
    {
        _state = state;
    }

    private Action<Session, long, bool>? _sessionReleased;

    /// <summary>
    /// Registers who is told of each session whose deliveries an epoch released (with the epoch and
    /// whether it is durable): the <see cref="DeliverySender"/>, which owns the queues, registers
    /// itself when it is created.
    /// </summary>
    public void OnSessionReleased(Action<Session, long, bool> released)
    {
        if (_sessionReleased is not null)
        {
            throw new InvalidOperationException("the deliveries of released sessions already have an owner");
        }
        _sessionReleased = released;
    }

    /// <summary>The newest epoch whose writes are durable.</summary>
    public long DurableEpoch { get; private set; }

    /// <summary>The epoch the current pass's writes belong to.</summary>
    public long CurrentEpoch => _registeredEpochs + 1;

    /// <summary>
    /// Payload bytes of messages written to the store whose commit has not completed. They are held
    /// in memory until it does (the store's writer reads them, and they could not be read back
    /// before), so while it is above <see cref="BrokerOptions.MaxUncommittedPayloadBytes"/>
    /// connections stop reading (see <see cref="CommitRelief"/>): publishers that send faster than
    /// the disk writes are slowed down by TCP instead of filling memory. Read without the lock.
    /// </summary>
    public long UncommittedPayloadBytes => Volatile.Read(ref _uncommittedPayloadBytes);

    /// <summary>Whether connections should stop reading until commits complete.</summary>
    public bool IsOverPayloadBudget => UncommittedPayloadBytes > _state.Options.MaxUncommittedPayloadBytes;

    /// <summary>Wakes the connections paused while <see cref="IsOverPayloadBudget"/>; signalled when a commit completes.</summary>
    public ConsumerRelief CommitRelief { get; } = new();

    /// <summary>Stores <paramref name="message"/> if it is not stored yet; its deliveries then wait for this epoch.</summary>
    public void EnsureStored(ApplicationMessage message)
    {
        if (message.StoreId != 0)
        {
            return;
        }
        message.StoreId = _state.NextMessageId();
        message.StoredAtUnixMs = _state.NowUnixMs;
        _state.Store.InsertMessage(StoredMessageCodec.Encode(message));
        DependOnThisEpoch(message);
        _state.Payloads.Track(message, CurrentEpoch);
        _passPayloadBytes += message.PayloadLength;
        Interlocked.Add(ref _uncommittedPayloadBytes, message.PayloadLength);
    }

    /// <summary>Makes <paramref name="message"/>'s deliveries wait for the current epoch (its exactly-once state is being written).</summary>
    public void DependOnThisEpoch(ApplicationMessage message) => message.DurableEpoch = CurrentEpoch;

    /// <summary>The epoch a new delivery of <paramref name="message"/> waits for.</summary>
    public long EpochOf(ApplicationMessage message, bool storedDelivery) => storedDelivery ? CurrentEpoch : message.DurableEpoch;

    /// <summary>
    /// A delivery of the current pass was handed over before its commit (<see cref="InternalConnection.ReceivesBeforeCommit"/>):
    /// the pass's durability request tells the store its writes may soon be taken back (<see cref="IBrokerStore.WhenDurableOrSettled"/>).
    /// </summary>
    public void ExpectSettling() => _passSettles = true;

    /// <summary>One stored reference to <paramref name="message"/> is gone; delete it when none is left.</summary>
    public void Dereference(ApplicationMessage message)
    {
        if (--message.StoreReferences <= 0 && message.StoreId != 0)
        {
            message.StoreReferences = 0;
            _state.Payloads.OnDeleting(message);
            _state.Store.DeleteMessage(message.StoreId);
            message.StoreId = 0;
        }
    }

    /// <summary>
    /// Remembers that <paramref name="session"/> has deliveries waiting for <paramref name="epoch"/>:
    /// its completion is reported to the session, with whether it is durable. Each epoch a session
    /// has deliveries in must report to it, since a failed one's deliveries are dropped by the report.
    /// </summary>
    public void AwaitCommit(Session session, long epoch)
    {
        if (epoch <= DurableEpoch || session.AwaitedEpoch == epoch)
        {
            return;
        }
        List<Session>? sessions = epoch == CurrentEpoch ? _waitingSessions : _pendingSessions.GetValueOrDefault(epoch);
        if (sessions is null)
        {
            return; // not an epoch in progress: nothing to wait for
        }
        session.AwaitedEpoch = epoch;
        sessions.Add(session);
    }

    /// <summary>
    /// Sends PUBACK (QoS 1) or PUBREC (QoS 2) once this epoch is durable. If the commit fails, a
    /// 5.0 client gets the acknowledgement with Unspecified error and a 3.1.1 client is
    /// disconnected, so that either way the publisher knows to send the message again.
    /// </summary>
    public void Acknowledge(IClientConnection connection, Session session, QualityOfService qos, ushort packetIdentifier, ReasonCode reasonCode) =>
        _acknowledgements.Add(new PendingAcknowledgement(connection, session, qos, packetIdentifier, reasonCode));

    /// <summary>Runs <paramref name="action"/> (under the lock) once this epoch's writes are durable or have failed.</summary>
    public void AfterCommit(Action<bool> action) => _actions.Add(action);

    /// <summary>
    /// Ends the pass: if anything waits for its writes, asks the store for one callback; if the
    /// pass wrote nothing and no earlier epoch is outstanding, completes at once.
    /// </summary>
    public void EndPass()
    {
        // Stored payloads always make an epoch, even when nothing else waits for it (a QoS 0 message
        // queued for a session that is away): it is what gives their bytes back to the budget.
        if (_acknowledgements.Count == 0 && _actions.Count == 0 && _waitingSessions.Count == 0 && _passPayloadBytes == 0)
        {
            return;
        }
        long epoch = ++_registeredEpochs;
        List<PendingAcknowledgement> acknowledgements = _acknowledgements;
        List<Action<bool>> actions = _actions;
        List<Session> sessions = _waitingSessions;
        long payloadBytes = _passPayloadBytes;
        bool settles = _passSettles;
        _passSettles = false;
        _acknowledgements = Take(ref _spareAcknowledgements);
        _actions = Take(ref _spareActions);
        _waitingSessions = Take(ref _spareSessions);
        _passPayloadBytes = 0;
        if (!_state.Store.HasUnrequestedWrites && epoch == DurableEpoch + 1)
        {
            // Nothing was written since the last request and every earlier epoch is complete, so
            // this one is durable already: a QoS 1 PUBLISH nobody stores is acknowledged in the
            // pass that read it, without a round trip through the store's writer.
            Complete(epoch, durable: true, acknowledgements, actions, sessions, payloadBytes);
            acknowledgements.Clear();
            actions.Clear();
            sessions.Clear();
            _spareAcknowledgements = acknowledgements;
            _spareActions = actions;
            _spareSessions = sessions;
            EndPass(); // what completing queued (a pumped delivery, an action's acknowledgement)
            return;
        }
        _pendingSessions[epoch] = sessions;
        RequestCompletion(epoch, acknowledgements, actions, sessions, payloadBytes, settles);
    }

    private static List<T> Take<T>(ref List<T>? spare)
    {
        List<T> list = spare ?? [];
        spare = null;
        return list;
    }

    // A method of its own so that the closure is allocated only for an epoch that waits for the store.
    private void RequestCompletion(long epoch, List<PendingAcknowledgement> acknowledgements, List<Action<bool>> actions, List<Session> sessions, long payloadBytes, bool settles)
    {
        Action<bool> completion = durable => _state.RunPass(() => Complete(epoch, durable, acknowledgements, actions, sessions, payloadBytes));
        if (settles)
        {
            _state.Store.WhenDurableOrSettled(completion);
        }
        else
        {
            _state.Store.WhenDurable(completion);
        }
    }

    private void Complete(long epoch, bool durable, List<PendingAcknowledgement> acknowledgements, List<Action<bool>> actions, List<Session> sessions, long payloadBytes)
    {
        DurableEpoch = epoch;
        _pendingSessions.Remove(epoch);
        _state.Payloads.OnCommitted(epoch, durable);
        if (payloadBytes != 0)
        {
            Interlocked.Add(ref _uncommittedPayloadBytes, -payloadBytes);
            // Checked after the bytes are given back: a connection that arms after this sees them (see ConsumerRelief.HasWaiters).
            if (CommitRelief.HasWaiters && !IsOverPayloadBudget)
            {
                CommitRelief.Signal();
            }
        }
        if (!durable)
        {
            _state.Log.StoreCommitFailed();
        }
        foreach (PendingAcknowledgement ack in acknowledgements)
        {
            ack.Send(durable);
        }
        foreach (Action<bool> action in actions)
        {
            action(durable);
        }
        foreach (Session session in sessions)
        {
            _sessionReleased?.Invoke(session, epoch, durable);
        }
    }

    private readonly record struct PendingAcknowledgement(IClientConnection Connection, Session Session, QualityOfService QoS, ushort PacketIdentifier, ReasonCode ReasonCode)
    {
        public void Send(bool durable)
        {
            if (!ReferenceEquals(Session.Connection, Connection))
            {
                return; // The client went away; it resends after reconnecting (§4.4).
            }
            if (QoS == QualityOfService.AtLeastOnce || !durable || (byte)ReasonCode >= 0x80)
            {
                // A QoS 2 PUBLISH stays in the receive window until PUBCOMP, unless PUBREC refuses it (§4.9).
                Connection.ReleaseIncoming();
            }
            if (!durable)
            {
                if (QoS == QualityOfService.ExactlyOnce)
                {
                    Session.IncomingPacketIdentifiers.Remove(PacketIdentifier);
                }
                if (Connection.ProtocolVersion != MqttProtocolVersion.V500)
                {
                    Connection.Disconnect(ReasonCode.UnspecifiedError, "storage unavailable");
                    return;
                }
            }
            ReasonCode reason = durable ? ReasonCode : ReasonCode.UnspecifiedError;
            if (QoS == QualityOfService.AtLeastOnce)
            {
                Connection.Send(new PubAckPacket(PacketIdentifier, reason));
            }
            else
            {
                Connection.Send(new PubRecPacket(PacketIdentifier, reason));
            }
        }
    }
}

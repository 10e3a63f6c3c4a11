using IoTPE.Client.Logging;
using IoTPE.Client.Storage;
using IoTPE.Mqtt;

namespace IoTPE.Client.Session;

/// <summary>
/// This client's publishes (spec 4.3.2, 4.3.3 sender side, 4.4, 4.9). A QoS 1/2 publish is committed to the
/// <c>outgoing</c> table — with its packet identifier when one is free — before it is sent, and deleted only when
/// PUBACK/PUBCOMP arrives; PUBREC is committed (the row becomes <c>released</c>) before PUBREL goes out, so after a
/// crash the client resends PUBREL, never the PUBLISH the broker already has. Sending follows the table's order and
/// is limited to a window (<see cref="MqttClientOptions.MaxInflight"/> and the broker's Receive Maximum). Only up to
/// <see cref="MaxBuffered"/> queued rows are kept in memory; a larger backlog (e.g. after days offline) stays on
/// disk and is read back page by page. QoS 0 publishes wait in memory for a connection. Used under the session lock.
/// </summary>
internal sealed class OutgoingPublishes
{
    /// <summary>Queued rows kept in memory; beyond this the backlog stays in the state file.</summary>
    internal const int MaxBuffered = 1024;

    /// <summary>Rows read back per page.</summary>
    internal const int PageSize = 256;

    /// <summary>Packet identifiers a publish does not take at insert time, so SUBSCRIBE/UNSUBSCRIBE always find one.</summary>
    private const int KeepFree = 512;

    private readonly ClientSession _session;
    private readonly Queue<OutgoingMessage> _ready = new();
    private readonly Dictionary<ushort, OutgoingMessage> _inFlight = [];
    private readonly Dictionary<long, TaskCompletionSource> _waitingOnDisk = [];
    private readonly Queue<(PublishPacket Packet, TaskCompletionSource Written)> _atMostOnce = new();
    private bool _backlog = true;
    private bool _pageRequested;
    private long _cursor;
    private int _window = 1;
    private QualityOfService _maximumQoS = QualityOfService.ExactlyOnce;
    private long _maximumPacketSize = long.MaxValue;

    public OutgoingPublishes(ClientSession session) => _session = session;

    /// <summary>How many QoS 1/2 publishes are unfinished in memory (for tests and diagnostics).</summary>
    public int PendingCount => _ready.Count + _inFlight.Count;

    /// <summary>Starts reading the rows left by an earlier run (the first unit of work of the store).</summary>
    public void Restore() => RequestPage();

    /// <summary>
    /// Commits a QoS 1/2 publish (QoS 0: queues it in memory). The returned task completes once the publish is
    /// accepted (committed) with the task that completes when the broker took responsibility (PUBACK/PUBCOMP).
    /// </summary>
    public Task<Task> EnqueueAsync(in PublishPacket packet)
    {
        if (packet.QoS == QualityOfService.AtMostOnce)
        {
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_session.Gate)
            {
                _atMostOnce.Enqueue((packet, written));
                Pump();
            }

            return Task.FromResult(written.Task);
        }

        var accepted = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        OutgoingMessage message = Create(packet, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _session.Store.Submit(new StoreWork(
            database => Insert(database, message),
            error =>
            {
                OnInserted(message, error);
                if (error is null)
                {
                    accepted.TrySetResult(message.Completion!.Task);
                }
                else
                {
                    accepted.TrySetException(error);
                }
            }));
        return accepted.Task;
    }

    /// <summary>A message for a publish to be inserted with <see cref="Insert"/> (possibly within a larger unit of work).</summary>
    public static OutgoingMessage Create(in PublishPacket packet, TaskCompletionSource? completion) =>
        new(packet.GetTopicName(), packet.QoS, StoredPublish.Encode(packet), completion);

    /// <summary>Writes the row (store thread); takes a packet identifier when the message will be kept in memory.</summary>
    public void Insert(StateDatabase database, OutgoingMessage message)
    {
        bool inMemory;
        lock (_session.Gate)
        {
            inMemory = !_backlog && _ready.Count < MaxBuffered;
        }

        message.PacketId = inMemory ? _session.Ids.Rent(KeepFree) : (ushort)0;
        message.Seq = database.InsertOutgoing(message.PacketId, message.QoS, message.Topic, message.Stored);
    }

    /// <summary>After the insert's commit (store thread, in commit order): queues the message, or leaves it in the backlog.</summary>
    public void OnInserted(OutgoingMessage message, Exception? error)
    {
        if (error is not null)
        {
            _session.Ids.Return(message.PacketId);
            message.Completion?.TrySetException(error);
            return;
        }

        lock (_session.Gate)
        {
            if (!_backlog && message.PacketId != 0 && _ready.Count < MaxBuffered)
            {
                _ready.Enqueue(message);
                _cursor = message.Seq;
            }
            else
            {
                _backlog = true;
                if (message.Completion is { } completion)
                {
                    _waitingOnDisk[message.Seq] = completion;
                }
            }

            Pump();
        }
    }

    /// <summary>A connection was accepted: resends the unfinished flows (spec 4.4), then fills the window.</summary>
    public void OnConnected(bool sessionPresent, ConnAckPacket connAck)
    {
        _window = _session.Version == MqttProtocolVersion.V500
            ? Math.Min(_session.Options.MaxInflight, connAck.ReceiveMaximum ?? ushort.MaxValue)
            : _session.Options.MaxInflight;
        _maximumQoS = connAck.MaximumQoS ?? QualityOfService.ExactlyOnce;
        _maximumPacketSize = connAck.MaximumPacketSize ?? long.MaxValue;
        var unfinished = _inFlight.Values.Where(m => !m.Finishing).OrderBy(m => m.Seq).ToList();
        foreach (OutgoingMessage message in unfinished)
        {
            if (message.Releasing)
            {
                continue; // PUBREL goes out once the PUBREC is committed.
            }

            if (!sessionPresent)
            {
                if (message.Released)
                {
                    // The broker took responsibility at PUBREC; its session, and the flow with it, is gone.
                    Finish(message);
                    continue;
                }

                message.MaybeSent = false; // A new session: to the broker this is a new message.
            }

            SendFlow(message);
        }

        Pump();
    }

    /// <summary>PUBACK: a QoS 1 flow is over.</summary>
    public void OnPubAck(ushort packetId, ReasonCode reasonCode)
    {
        if (!_inFlight.TryGetValue(packetId, out OutgoingMessage? message) || message.Finishing || message.SentQoS != QualityOfService.AtLeastOnce)
        {
            return; // Not ours (any more); a stray acknowledgement must not end another flow.
        }

        if ((byte)reasonCode >= 0x80)
        {
            Refuse(message, reasonCode);
        }
        else
        {
            Finish(message);
        }
    }

    /// <summary>PUBREC: commit the release, then send PUBREL (spec 4.3.3).</summary>
    public void OnPubRec(ushort packetId, ReasonCode reasonCode)
    {
        if (!_inFlight.TryGetValue(packetId, out OutgoingMessage? message) || message.SentQoS != QualityOfService.ExactlyOnce)
        {
            // Unknown identifier: end the broker's side of the flow (5.0: "Packet Identifier not found").
            _session.Send(new PubRelPacket(packetId, ReasonCode.PacketIdentifierNotFound));
            return;
        }

        if (message.Finishing || message.Releasing)
        {
            return;
        }

        if ((byte)reasonCode >= 0x80)
        {
            Refuse(message, reasonCode);
            return;
        }

        if (message.Released)
        {
            _session.Send(new PubRelPacket(packetId));
            return;
        }

        message.Releasing = true;
        _session.Store.Submit(new StoreWork(
            database => database.ReleaseOutgoing(message.Seq),
            error =>
            {
                lock (_session.Gate)
                {
                    message.Releasing = false;
                    if (error is not null)
                    {
                        ClientLog.StoreWriteFailed(_session.Logger, error);
                        _session.AbortConnection(); // The broker resends PUBREC after reconnecting.
                        return;
                    }

                    message.Released = true;
                    _session.Send(new PubRelPacket(message.PacketId));
                }
            }));
    }

    /// <summary>PUBCOMP: a QoS 2 flow is over.</summary>
    public void OnPubComp(ushort packetId)
    {
        if (_inFlight.TryGetValue(packetId, out OutgoingMessage? message) && message.Released && !message.Finishing)
        {
            Finish(message);
        }
    }

    /// <summary>The client is being disposed: callers still waiting learn that their publish will complete later (it stays stored).</summary>
    public void CancelWaiters()
    {
        foreach (OutgoingMessage message in _inFlight.Values.Concat(_ready))
        {
            message.Completion?.TrySetCanceled();
        }

        foreach (TaskCompletionSource waiting in _waitingOnDisk.Values)
        {
            waiting.TrySetCanceled();
        }

        while (_atMostOnce.TryDequeue(out var entry))
        {
            entry.Written.TrySetCanceled();
        }
    }

    private void Pump()
    {
        if (!_session.IsConnected)
        {
            return;
        }

        while (_atMostOnce.TryDequeue(out var entry))
        {
            _session.Send(entry.Packet);
            entry.Written.TrySetResult();
        }

        while (_inFlight.Count < _window && _ready.TryDequeue(out OutgoingMessage? message))
        {
            _inFlight[message.PacketId] = message;
            SendFlow(message);
        }

        if (_ready.Count < PageSize / 2)
        {
            RequestPage();
        }
    }

    private void SendFlow(OutgoingMessage message)
    {
        if (message.Released)
        {
            message.SentQoS = QualityOfService.ExactlyOnce;
            _session.Send(new PubRelPacket(message.PacketId));
            return;
        }

        QualityOfService qos = message.QoS <= _maximumQoS ? message.QoS : _maximumQoS;
        PublishPacket packet = message.ToPacket(qos);
        if (packet.GetEncodedSize(_session.Version) > _maximumPacketSize)
        {
            Refuse(message, ReasonCode.PacketTooLarge);
            return;
        }

        message.SentQoS = qos;
        message.MaybeSent = true;
        _session.Send(packet);
        if (qos == QualityOfService.AtMostOnce)
        {
            Finish(message); // The broker's Maximum QoS is 0: nothing will acknowledge it.
        }
    }

    /// <summary>Reads the next page of the backlog (store thread), assigning packet identifiers to its rows.</summary>
    private void RequestPage()
    {
        if (!_backlog || _pageRequested)
        {
            return;
        }

        _pageRequested = true;
        long after = _cursor;
        List<OutgoingRow> rows = [];
        bool complete = false;
        _session.Store.Submit(new StoreWork(
            database =>
            {
                rows.Clear();
                List<OutgoingRow> read = database.ReadOutgoing(after, PageSize);
                complete = read.Count < PageSize;
                foreach (OutgoingRow row in read)
                {
                    OutgoingRow loaded = row;
                    if (row.PacketId == 0)
                    {
                        ushort id = _session.Ids.Rent(KeepFree);
                        if (id == 0)
                        {
                            complete = false; // Every identifier is taken: continue from here later.
                            break;
                        }

                        database.SetOutgoingPacketId(row.Seq, id);
                        loaded = row with { PacketId = id };
                    }

                    rows.Add(loaded);
                }
            },
            error =>
            {
                lock (_session.Gate)
                {
                    _pageRequested = false;
                    if (error is not null)
                    {
                        foreach (OutgoingRow row in rows.Where(r => r.PacketId != 0))
                        {
                            _session.Ids.Return(row.PacketId);
                        }

                        ClientLog.StoreWriteFailed(_session.Logger, error);
                        return;
                    }

                    foreach (OutgoingRow row in rows)
                    {
                        _waitingOnDisk.Remove(row.Seq, out TaskCompletionSource? completion);
                        _ready.Enqueue(OutgoingMessage.FromRow(row, completion));
                        _cursor = row.Seq;
                    }

                    if (complete)
                    {
                        _backlog = false;
                    }

                    if (rows.Count > 0)
                    {
                        Pump();
                    }
                }
            }));
    }

    /// <summary>Deletes the row, then frees the identifier and completes the caller's task.</summary>
    private void Finish(OutgoingMessage message)
    {
        message.Finishing = true;
        _session.Store.Submit(new StoreWork(
            database => database.DeleteOutgoing(message.Seq),
            error => Finished(message, error, null)));
    }

    /// <summary>The broker refused the publish (or it cannot be sent): dead-letters it.</summary>
    private void Refuse(OutgoingMessage message, ReasonCode reasonCode)
    {
        message.Finishing = true;
        string reason = $"The broker refused the publish: {reasonCode} (0x{(byte)reasonCode:X2}).";
        ClientLog.PublishRefused(_session.Logger, message.Topic, reasonCode);
        _session.Store.Submit(new StoreWork(
            database =>
            {
                database.InsertDeadLetter(incoming: false, DeadLetterReason.RejectedByBroker, 0, reason, message.Topic, message.Stored);
                database.DeleteOutgoing(message.Seq);
            },
            error => Finished(message, error, error is null ? new MqttRejectedException(reasonCode, reason) : null)));
    }

    private void Finished(OutgoingMessage message, Exception? storeError, MqttRejectedException? refusal)
    {
        lock (_session.Gate)
        {
            if (storeError is not null)
            {
                message.Finishing = false;
                ClientLog.StoreWriteFailed(_session.Logger, storeError);
                _session.AbortConnection(); // The flow resumes on the next connection.
                return;
            }

            _inFlight.Remove(message.PacketId);
            _session.Ids.Return(message.PacketId);
            if (refusal is null)
            {
                message.Completion?.TrySetResult();
            }
            else
            {
                message.Completion?.TrySetException(refusal);
                _session.DeadLetters.Notify(new DeadLetter(StoredPublish.ToMessage(message.Stored), DeadLetterReason.RejectedByBroker, 0, refusal.Message));
            }

            Pump();
        }
    }
}

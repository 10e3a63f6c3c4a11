using IoTPE.Client.Logging;
using IoTPE.Client.Storage;
using IoTPE.Mqtt;

namespace IoTPE.Client.Session;

/// <summary>
/// This client's publishes (spec 4.3.2, 4.3.3 sender side, 4.4, 4.9). A QoS 1/2 publish is committed to the
/// <c>outgoing</c> table — with its packet identifier when one is free — before it is sent, and deleted when
/// PUBACK/PUBCOMP arrives; PUBREC is committed (the row becomes <c>released</c>) before PUBREL goes out, so after a
/// crash the client resends PUBREL, never the PUBLISH the broker already has. The caller learns of the
/// acknowledgement at once, and the window slot is free at once: the deletion rides on the next group commit, and a
/// crash before it only means the next run repeats the end of the flow (PUBREL for QoS 2, which the broker answers
/// without delivering anything; the PUBLISH for QoS 1, which is at least once). A publish with an application
/// identity is checked against the stored and the remembered delivered ones in the unit of work that would insert it,
/// so two publishes of one identity never both reach the table. Sending follows the table's order and
/// is limited to a window (<see cref="MqttClientOptions.MaxInflight"/> and the broker's Receive Maximum). Only up to
/// <see cref="MaxBuffered"/> queued rows are kept in memory; a larger backlog (e.g. after days offline) stays on
/// disk and is read back page by page. QoS 0 publishes wait in memory for a connection. Used under the session lock.
/// </summary>
internal sealed class OutgoingPublishes
{
    /// <summary>
    /// Queued rows kept in memory; beyond this the backlog stays in the state file. More than a bridge's window of
    /// messages handed over (IoTPE.Bridge: 2,000), so that a steady stream never takes the slower way through the disk.
    /// </summary>
    internal const int MaxBuffered = 2048;

    /// <summary>Rows read back per page.</summary>
    internal const int PageSize = 256;

    /// <summary>Packet identifiers a publish does not take at insert time, so SUBSCRIBE/UNSUBSCRIBE always find one.</summary>
    private const int KeepFree = 512;

    private readonly ClientSession _session;
    private readonly Queue<OutgoingMessage> _ready = new();
    private readonly Dictionary<ushort, OutgoingMessage> _inFlight = [];
    private readonly Dictionary<long, OutgoingMessage> _inMemory = [];
    private readonly Dictionary<long, TaskCompletionSource> _waitingOnDisk = [];
    private readonly Queue<(PublishPacket Packet, TaskCompletionSource Written)> _atMostOnce = new();

    // PUBRECs and ended flows waiting for the unit of work that writes them all (see SubmitReleases, SubmitFinished):
    // one is queued exactly while its list is not empty.
    private List<OutgoingMessage> _toRelease = [];
    private List<OutgoingMessage> _toFinish = [];
    private bool _backlog = true;
    private bool _pageRequested;
    private long _cursor;
    private int _window = 1;
    private QualityOfService _maximumQoS = QualityOfService.ExactlyOnce;
    private long _maximumPacketSize = long.MaxValue;
    private int _deliveredSincePrune;

    public OutgoingPublishes(ClientSession session) => _session = session;

    /// <summary>How many QoS 1/2 publishes are unfinished in memory (for tests and diagnostics).</summary>
    public int PendingCount => _ready.Count + _inFlight.Count;

    /// <summary>Starts reading the rows left by an earlier run (the first unit of work of the store).</summary>
    public void Restore() => RequestPage();

    /// <summary>
    /// Commits a QoS 1/2 publish (QoS 0: queues it in memory) unless its identity was stored or delivered before.
    /// Returns at once; the result's tasks say when it is stored and when the broker took it.
    /// </summary>
    public PublishResult Enqueue(in PublishPacket packet, string? messageId)
    {
        if (packet.QoS == QualityOfService.AtMostOnce)
        {
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_session.Gate)
            {
                _atMostOnce.Enqueue((packet, written));
                Pump();
            }

            return new PublishResult(null, Task.FromResult(PublishStatus.NotStored), written.Task);
        }

        var stored = new TaskCompletionSource<PublishStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        OutgoingMessage message = Create(packet, messageId, delivered);
        _session.Store.Submit(new StoreWork(
            database => Insert(database, message),
            error =>
            {
                OnInserted(message, error);
                if (error is not null)
                {
                    stored.TrySetException(error);
                }
                else
                {
                    stored.TrySetResult(message.Status);
                }
            })
        // Reads, then one INSERT: a constraint failure undoes the INSERT alone.
        { WithoutSavepoint = true });
        return new PublishResult(messageId, stored.Task, delivered.Task);
    }

    /// <summary>A message for a publish to be inserted with <see cref="Insert"/> (possibly within a larger unit of work).</summary>
    public static OutgoingMessage Create(in PublishPacket packet, string? messageId, TaskCompletionSource? completion) =>
        new(packet.GetTopicName(), packet.QoS, StoredPublish.Encode(packet), messageId, completion);

    /// <summary>
    /// Writes the row (store thread) unless the identity is already stored or delivered; takes a packet identifier
    /// when the message will be kept in memory.
    /// </summary>
    public void Insert(StateDatabase database, OutgoingMessage message)
    {
        bool inMemory;
        lock (_session.Gate)
        {
            inMemory = !_backlog && _ready.Count < MaxBuffered;
        }

        message.PacketId = inMemory ? _session.Ids.Rent(KeepFree) : (ushort)0;
        if (message.MessageId is not { } messageId)
        {
            message.Seq = database.InsertOutgoing(message.PacketId, message.QoS, message.Topic, message.Stored, null);
            return;
        }

        // The identity is checked by the INSERT itself; only when it finds one is it looked up.
        if (database.InsertNewOutgoing(message.PacketId, message.QoS, message.Topic, message.Stored, messageId) is { } seq)
        {
            message.Seq = seq;
            return;
        }

        _session.Ids.Return(message.PacketId);
        message.PacketId = 0;
        message.Status = database.FindIdentity(messageId, out long earlier, out ReasonCode? refused);
        if (message.Status == PublishStatus.Stored)
        {
            throw new InvalidOperationException($"The publish with message identity '{messageId}' was neither inserted nor found.");
        }

        message.EarlierSeq = earlier;
        message.EarlierRefusal = refused;
    }

    /// <summary>After the insert's commit (store thread, in commit order): queues the message, or leaves it in the backlog.</summary>
    public void OnInserted(OutgoingMessage message, Exception? error)
    {
        if (error is not null)
        {
            _session.Ids.Return(message.PacketId);
            message.Completion.TrySetException(error);
            return;
        }

        lock (_session.Gate)
        {
            switch (message.Status)
            {
                case PublishStatus.AlreadyStored:
                    Follow(message.Completion, EarlierCompletion(message.EarlierSeq));
                    return;
                case PublishStatus.AlreadyDelivered:
                    if (message.EarlierRefusal is { } refusal)
                    {
                        message.Completion.TrySetException(new MqttRejectedException(refusal, $"The broker refused the publish with message identity '{message.MessageId}': {refusal} (0x{(byte)refusal:X2})."));
                    }
                    else
                    {
                        message.Completion.TrySetResult();
                    }

                    return;
            }

            if (!_backlog && message.PacketId != 0 && _ready.Count < MaxBuffered)
            {
                _ready.Enqueue(message);
                _inMemory[message.Seq] = message;
                _cursor = message.Seq;
            }
            else
            {
                _backlog = true;
                _waitingOnDisk[message.Seq] = message.Completion;
            }

            Pump();
        }
    }

    /// <summary>
    /// The pending publishes in the state file, in send order (store thread reads them): those acknowledged already,
    /// whose deletion is not committed yet, are left out.
    /// </summary>
    public async Task<IReadOnlyList<PendingPublish>> ReadPendingAsync()
    {
        List<OutgoingRow> rows = [];
        await _session.Store.SubmitAsync(database =>
        {
            const int page = 1024;
            long after = 0;
            List<OutgoingRow> read;
            do
            {
                read = database.ReadOutgoing(after, page);
                rows.AddRange(read);
                after = read.Count > 0 ? read[^1].Seq : after;
            }
            while (read.Count == page);
        }).ConfigureAwait(false);
        lock (_session.Gate)
        {
            return rows
                .Where(row => !(_inMemory.TryGetValue(row.Seq, out OutgoingMessage? message) && message.Completion.Task.IsCompleted))
                .Select(row => new PendingPublish(row.MessageId, StoredPublish.ToMessage(row.Packet), row.Released))
                .ToList();
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
                    Acknowledged(message);
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
            Acknowledged(message);
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
        _toRelease.Add(message);
        if (_toRelease.Count == 1)
        {
            SubmitReleases();
        }
    }

    /// <summary>
    /// Queues the unit that commits every PUBREC received until it runs (one UPDATE for all), then sends their PUBRELs.
    /// Under the session lock, when <see cref="_toRelease"/> got its first entry.
    /// </summary>
    private void SubmitReleases()
    {
        List<OutgoingMessage>? batch = null;
        _session.Store.Submit(new StoreWork(
            database =>
            {
                batch = TakeReleases();
                database.ReleaseOutgoing(batch);
            },
            error =>
            {
                lock (_session.Gate)
                {
                    batch ??= TakeReleasesLocked(); // An earlier unit failed the batch before this one ran.
                    foreach (OutgoingMessage message in batch)
                    {
                        message.Releasing = false;
                        if (error is null)
                        {
                            message.Released = true;
                            _session.Send(new PubRelPacket(message.PacketId));
                        }
                    }

                    if (error is not null)
                    {
                        ClientLog.StoreWriteFailed(_session.Logger, error);
                        _session.AbortConnection(); // The broker resends PUBREC after reconnecting.
                    }
                }
            })
        { WithoutSavepoint = true });
    }

    private List<OutgoingMessage> TakeReleases()
    {
        lock (_session.Gate)
        {
            return TakeReleasesLocked();
        }
    }

    private List<OutgoingMessage> TakeReleasesLocked()
    {
        List<OutgoingMessage> taken = _toRelease;
        _toRelease = [];
        return taken;
    }

    /// <summary>PUBCOMP: a QoS 2 flow is over.</summary>
    public void OnPubComp(ushort packetId)
    {
        if (_inFlight.TryGetValue(packetId, out OutgoingMessage? message) && message.Released && !message.Finishing)
        {
            Acknowledged(message);
        }
    }

    /// <summary>The client is being disposed: callers still waiting learn that their publish will complete later (it stays stored).</summary>
    public void CancelWaiters()
    {
        foreach (OutgoingMessage message in _inMemory.Values)
        {
            message.Completion.TrySetCanceled();
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
            Acknowledged(message); // The broker's Maximum QoS is 0: nothing will acknowledge it.
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
                        OutgoingMessage message = OutgoingMessage.FromRow(row, completion);
                        _ready.Enqueue(message);
                        _inMemory[row.Seq] = message;
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

    /// <summary>
    /// The broker took responsibility: the caller learns it now and the window slot is free; the row's deletion (and
    /// the record of its identity) rides on the next group commit. Until that commit the packet identifier stays taken.
    /// </summary>
    private void Acknowledged(OutgoingMessage message)
    {
        message.Finishing = true;
        _inFlight.Remove(message.PacketId);
        _toFinish.Add(message);
        if (_toFinish.Count == 1)
        {
            SubmitFinished();
        }

        // After the deletion was queued: a publish of the same identity that the caller makes now is checked after it.
        message.Completion.TrySetResult();
        Pump();
    }

    /// <summary>
    /// Queues the unit that deletes the rows of every flow that ends until it runs, remembering their identities (two
    /// statements for all). Nobody waits for it: it rides on the next group commit. Under the session lock, when
    /// <see cref="_toFinish"/> got its first entry.
    /// </summary>
    private void SubmitFinished()
    {
        List<OutgoingMessage>? batch = null;
        _session.Store.Submit(new StoreWork(
            database =>
            {
                lock (_session.Gate)
                {
                    batch = _toFinish;
                    _toFinish = [];
                }

                int identities = database.FinishOutgoing(batch);
                _deliveredSincePrune += identities;
                PruneDeliveredNowAndThen(database);
            },
            error =>
            {
                lock (_session.Gate)
                {
                    if (batch is null)
                    {
                        batch = _toFinish; // An earlier unit failed the batch before this one ran.
                        _toFinish = [];
                    }

                    if (error is not null)
                    {
                        // The rows stay (and their identifiers with them): the next run repeats the end of the flows.
                        ClientLog.StoreWriteFailed(_session.Logger, error);
                        return;
                    }

                    foreach (OutgoingMessage message in batch)
                    {
                        _inMemory.Remove(message.Seq);
                        _session.Ids.Return(message.PacketId);
                    }
                }
            })
        // INSERT ... ON CONFLICT DO NOTHING, DELETE and now and then a pruning DELETE: no constraint can refuse them.
        { WithoutSavepoint = true, Deferrable = true });
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
                RememberDelivered(database, message.MessageId, reasonCode);
            },
            error => Refused(message, error, new MqttRejectedException(reasonCode, reason))));
    }

    /// <summary>Records a delivered identity (store thread), pruning the oldest beyond the retention now and then.</summary>
    private void RememberDelivered(StateDatabase database, string? messageId, ReasonCode? refusal)
    {
        if (messageId is null)
        {
            return;
        }

        database.InsertDelivered(messageId, refusal);
        _deliveredSincePrune++;
        PruneDeliveredNowAndThen(database);
    }

    /// <summary>Prunes the oldest remembered identities beyond the retention once a sixteenth of it was added (store thread).</summary>
    private void PruneDeliveredNowAndThen(StateDatabase database)
    {
        int retention = _session.Options.MessageIdRetention;
        if (_deliveredSincePrune >= Math.Max(1, retention / 16))
        {
            _deliveredSincePrune = 0;
            database.PruneDelivered(retention);
        }
    }

    private void Refused(OutgoingMessage message, Exception? storeError, MqttRejectedException refusal)
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
            _inMemory.Remove(message.Seq);
            _session.Ids.Return(message.PacketId);
            message.Completion.TrySetException(refusal);
            _session.DeadLetters.Notify(new DeadLetter(StoredPublish.ToMessage(message.Stored), DeadLetterReason.RejectedByBroker, 0, refusal.Message));
            Pump();
        }
    }

    /// <summary>The completion of the stored publish with row <paramref name="seq"/>, in memory or still on disk (under the lock).</summary>
    private Task EarlierCompletion(long seq)
    {
        if (_inMemory.TryGetValue(seq, out OutgoingMessage? earlier))
        {
            return earlier.Completion.Task;
        }

        if (!_waitingOnDisk.TryGetValue(seq, out TaskCompletionSource? waiting))
        {
            waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waitingOnDisk[seq] = waiting;
        }

        return waiting.Task;
    }

    /// <summary>Completes <paramref name="target"/> as <paramref name="source"/> completes.</summary>
    private static void Follow(TaskCompletionSource target, Task source) =>
        source.ContinueWith(
            (completed, state) =>
            {
                var follower = (TaskCompletionSource)state!;
                if (completed.IsCanceled)
                {
                    follower.TrySetCanceled();
                }
                else if (completed.Exception is { } error)
                {
                    follower.TrySetException(error.InnerExceptions);
                }
                else
                {
                    follower.TrySetResult();
                }
            },
            target,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
}

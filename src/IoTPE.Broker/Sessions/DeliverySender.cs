using IoTPE.Broker.Connections;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Storage;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Sessions;

/// <summary>
/// The server's side of the outgoing QoS 1/2 flows (MQTT 5.0 §4.3.2, §4.3.3): queues deliveries
/// for a session, sends them in order as the client's Receive Maximum allows, resends them after a
/// reconnect, and completes them on PUBACK/PUBREC/PUBCOMP. Used under the broker lock.
/// </summary>
internal sealed class DeliverySender
{
    private readonly BrokerState _state;
    private readonly DurabilityTracker _durability;
    private readonly TopicNameCache _topics = new();

    // Sessions with deliveries due that the store could not read back (a spilled tail, a paged-out
    // payload); retried by Housekeeping. The failure is logged once until every read succeeds again.
    private readonly HashSet<Session> _unreadSessions = [];
    private bool _storeReadsFailing;

    public DeliverySender(BrokerState state, DurabilityTracker durability)
    {
        _state = state;
        _durability = durability;
        durability.OnSessionReleased(OnEpochCompleted);
        state.ResumeDeliveries = Pump;
    }

    // An epoch this session's deliveries waited for is complete: send them, or, if its commit
    // failed, drop them first: they refer to writes that were rolled back, and their publishers were refused.
    private void OnEpochCompleted(Session session, long epoch, bool durable)
    {
        if (!durable && session.Queued.Any(d => d.Epoch == epoch))
        {
            foreach (Delivery dropped in session.Queued.Where(d => d.Epoch == epoch))
            {
                _state.QueueQuota.Release(dropped);
                UncountInMemory(dropped);
            }
            Delivery[] keep = [.. session.Queued.Where(d => d.Epoch != epoch)];
            session.Queued.Clear();
            foreach (Delivery d in keep)
            {
                session.Queued.Enqueue(d);
            }
            session.Connection?.OnDrained();
        }
        SettleSpilled(session, epoch, durable);
        Pump(session);
    }

    /// <summary>
    /// Whether <paramref name="session"/>'s queue has no room for one more delivery of
    /// <paramref name="size"/> bytes: its own <see cref="Session.QueueLimit"/> (deliveries queued and
    /// in flight, and their bytes) or else <see cref="BrokerOptions.MaxQueuedMessages"/>. Spilled
    /// deliveries (<see cref="SpilledTail"/>) count as queued ones.
    /// </summary>
    public bool IsFull(Session session, long size) => session.QueueLimit is { } limit
        ? session.QueuedCount + (session.HasInFlight ? session.InFlight.Count : 0) >= limit.MaxMessages ||
          session.QueuedBytes + size > limit.MaxBytes
        : session.QueuedCount >= _state.Options.MaxQueuedMessages;

    /// <summary>
    /// Queues <paramref name="message"/> for <paramref name="session"/> at <paramref name="qos"/> (1 or 2).
    /// The PUBLISH of a client was checked before (see <see cref="Routing.MessageRouter.Overflows"/>):
    /// only messages the broker itself publishes can find the queue full here, and the overflow
    /// policy applies to them.
    /// A persistent session's delivery is stored; the delivery goes out once the pass's writes are
    /// durable (see <see cref="DurabilityTracker"/>). Beyond
    /// <see cref="BrokerOptions.MaxResidentDeliveriesPerSession"/> queued in memory, a persistent
    /// session's delivery joins its <see cref="SpilledTail"/> instead.
    /// </summary>
    public void Enqueue(Session session, ApplicationMessage message, QualityOfService qos, bool retain, uint[]? subscriptionIdentifiers)
    {
        if (IsFull(session, AccountQueueQuota.SizeOf(message)) && !MakeRoom(session, message))
        {
            return;
        }
        var delivery = new Delivery(message, session.TakeSequence(), qos, retain, subscriptionIdentifiers);
        bool stored = session.IsPersistent;
        // A client gets a stored delivery only once the pass's writes are durable: if the commit
        // fails, the publisher is refused (0x80) and the delivery dropped, so a message the publisher
        // must send again is not also delivered, and a QoS 2 message never reaches a client twice
        // across a crash. The exception is the engine's run request at QoS 1, taken at once when
        // nothing is ahead of it (HandsOverBeforeCommit).
        if (stored && HandsOverBeforeCommit(session, message, qos))
        {
            delivery.Epoch = _durability.EpochOf(message, storedDelivery: false);
            _durability.ExpectSettling();
        }
        else
        {
            delivery.Epoch = _durability.EpochOf(message, stored);
        }
        if (stored)
        {
            _durability.EnsureStored(message);
            message.StoreReferences++;
            delivery.Stored = true;
            _state.Store.InsertDelivery(new StoredDelivery(session.ClientId, delivery.Sequence, message.StoreId, (byte)qos, retain, Released: false, subscriptionIdentifiers ?? []));
            if (session.HasSpilled || (session.HasQueued && session.Queued.Count >= _state.Options.MaxResidentDeliveriesPerSession))
            {
                // Behind a spilled tail, a delivery must spill too: the queue's order is the sequence's.
                Spill(session, delivery);
                if (session.Connection is { IsCongested: true } congested)
                {
                    _state.CongestedConsumer = congested;
                }
                return;
            }
            _state.QueueQuota.Charge(session, delivery);
        }
        else
        {
            _state.QueueQuota.Charge(session, delivery);
            CountInMemory(delivery);
        }
        session.Queued.Enqueue(delivery);
        // Registered whether or not the client is connected: an absent client's queue must lose the
        // delivery too if the commit fails, or the publisher's resend would be queued twice.
        _durability.AwaitCommit(session, delivery.Epoch);
        Pump(session);
        if (session.Connection is { IsCongested: true } connection)
        {
            _state.CongestedConsumer = connection;
        }
    }

    /// <summary>
    /// Whether a QoS 1 delivery to <paramref name="session"/> goes out before the pass's commit: only
    /// to an in-process client that asks for it (the engine), on a store that leaves out rows taken
    /// back before their commit, and only when the client takes it at once (nothing queued ahead of
    /// it, room in its window). The engine then usually has the run done and acknowledged before the
    /// store's writer would commit the request: neither the request nor its deletes are written and
    /// nothing is synced for it, while the publisher's PUBACK still waits for that writer's verdict
    /// (docs/architecture.md, "The durability contract"). The price: if that commit fails, the
    /// publisher is refused although the run happened, and its resend runs it again, which
    /// at-least-once runs allow. QoS 2 messages, and messages already waiting for this pass's
    /// commit for another reason, keep the commit first.
    /// </summary>
    private bool HandsOverBeforeCommit(Session session, ApplicationMessage message, QualityOfService qos) =>
        qos == QualityOfService.AtLeastOnce && message.QoS == QualityOfService.AtLeastOnce &&
        session.Connection is InternalConnection { ReceivesBeforeCommit: true } connection &&
        _state.Store.SkipsSettledWrites &&
        message.DurableEpoch <= _durability.DurableEpoch &&
        !session.HasQueued && !session.HasSpilled &&
        (session.HasInFlight ? session.InFlight.Count : 0) < connection.SendWindow &&
        !connection.HoldsBackDeliveries;

    /// <summary>Sends queued deliveries whose writes are durable, while the client's window has room.</summary>
    public void Pump(Session session)
    {
        if (session.Connection is not { } connection || (!session.HasQueued && !session.HasSpilled))
        {
            return;
        }
        int window = connection.SendWindow;
        long now = _state.NowUnixMs;
        // Only a queue that was long enough to pause publishers can relieve them by getting shorter
        // (a congested output buffer relieves them from its own sends).
        bool wasBackedUp = session.QueuedCount >= _state.Options.QueueBackpressureMessages;
        int lowWater = _state.Options.MaxResidentDeliveriesPerSession / 2;
        while (session.InFlight.Count < window && !connection.HoldsBackDeliveries)
        {
            if (session.HasSpilled && session.Queued.Count <= lowWater)
            {
                Refill(session);
            }
            if (session.Queued.Count == 0)
            {
                break;
            }
            Delivery next = session.Queued.Peek();
            if (next.Epoch > _durability.DurableEpoch)
            {
                _durability.AwaitCommit(session, next.Epoch);
                break;
            }
            if (session.InFlight.ContainsKey(next.PacketIdentifier))
            {
                // A delivery 65535 places earlier is still unacknowledged: its identifier is taken.
                break;
            }
            if (next.Message.ExpiresAtUnixMs is { } expiry && expiry <= now)
            {
                session.Queued.Dequeue();
                Drop(session, next, "message expired");
                continue;
            }
            if (!_state.MayReceive(session, next.Message.Topic))
            {
                // Checked at delivery as well as at subscribe time: a revoked right stops delivery at once.
                session.Queued.Dequeue();
                Drop(session, next, "no longer authorized to receive");
                continue;
            }
            PayloadReadResult read = ReadPayload(session, next.Message, out ReadOnlyMemory<byte> payload);
            if (read == PayloadReadResult.Unavailable)
            {
                break; // it stays first in the queue, and is tried again (RetryUnreadDeliveries)
            }
            session.Queued.Dequeue();
            if (read == PayloadReadResult.Missing)
            {
                Drop(session, next, "its payload is missing from the store");
                continue;
            }
            next.State = next.QoS == QualityOfService.AtLeastOnce ? DeliveryState.AwaitingPubAck : DeliveryState.AwaitingPubRec;
            session.InFlight.Add(next.PacketIdentifier, next);
            Send(session, connection, next, payload, dup: next.Attempts > 0, now);
        }
        if (wasBackedUp && session.QueuedCount < _state.Options.QueueBackpressureMessages)
        {
            connection.OnDrained();
        }
    }

    /// <summary>After a reconnect, resends every unacknowledged PUBLISH with DUP set, and PUBREL where PUBREC arrived (§4.4).</summary>
    public void ResendInFlight(Session session)
    {
        if (session.Connection is not { } connection)
        {
            return;
        }
        if (!session.HasInFlight)
        {
            Pump(session);
            return;
        }
        long now = _state.NowUnixMs;
        List<Delivery>? missing = null;
        foreach (Delivery delivery in session.InFlightInOrder())
        {
            if (delivery.State == DeliveryState.AwaitingPubComp)
            {
                connection.Send(new PubRelPacket(delivery.PacketIdentifier));
                continue;
            }
            switch (ReadPayload(session, delivery.Message, out ReadOnlyMemory<byte> payload))
            {
                case PayloadReadResult.Read:
                    Send(session, connection, delivery, payload, dup: true, now);
                    break;
                case PayloadReadResult.Missing:
                    (missing ??= []).Add(delivery);
                    break;
                default:
                    // The client is owed this resend now (§4.4) and the broker has no timer to resend
                    // it later: it is told to come back, and the next reconnect resends everything.
                    connection.Disconnect(ReasonCode.ServerBusy, "a stored message could not be read; reconnect later");
                    return;
            }
        }
        foreach (Delivery delivery in missing ?? [])
        {
            session.InFlight.Remove(delivery.PacketIdentifier);
            Drop(session, delivery, "its payload is missing from the store");
        }
        Pump(session);
    }

    /// <summary>PUBACK from the client (§4.3.2).</summary>
    public void OnPubAck(Session session, ushort packetIdentifier)
    {
        if (session.InFlight.TryGetValue(packetIdentifier, out Delivery? delivery) && delivery.State == DeliveryState.AwaitingPubAck)
        {
            Complete(session, delivery);
            Pump(session);
        }
    }

    /// <summary>PUBREC from the client (§4.3.3): answer PUBREL, once the broker has durably noted it for a stored delivery.</summary>
    public void OnPubRec(Session session, ushort packetIdentifier, ReasonCode reasonCode)
    {
        if (!session.InFlight.TryGetValue(packetIdentifier, out Delivery? delivery) || delivery.State != DeliveryState.AwaitingPubRec)
        {
            // §4.3.3: PUBREC for an identifier not in flight: answer PUBREL so the client can finish.
            session.Connection?.Send(new PubRelPacket(packetIdentifier, ReasonCode.PacketIdentifierNotFound));
            return;
        }
        if ((byte)reasonCode >= 0x80)
        {
            // The client refused the message: the flow ends here (§4.3.3).
            Complete(session, delivery);
            Pump(session);
            return;
        }
        delivery.State = DeliveryState.AwaitingPubComp;
        if (delivery.Stored)
        {
            // After a crash the broker must resend PUBREL, not the PUBLISH: a PUBLISH after the
            // client released the identifier would be a new message to it, a duplicate.
            _state.Store.MarkDeliveryReleased(session.ClientId, delivery.Sequence);
            _durability.AfterCommit(durable =>
            {
                if (durable && session.InFlight.TryGetValue(packetIdentifier, out Delivery? d) && ReferenceEquals(d, delivery))
                {
                    session.Connection?.Send(new PubRelPacket(packetIdentifier));
                }
            });
        }
        else
        {
            session.Connection?.Send(new PubRelPacket(packetIdentifier));
        }
    }

    /// <summary>PUBCOMP from the client (§4.3.3).</summary>
    public void OnPubComp(Session session, ushort packetIdentifier)
    {
        if (session.InFlight.TryGetValue(packetIdentifier, out Delivery? delivery) && delivery.State == DeliveryState.AwaitingPubComp)
        {
            Complete(session, delivery);
            Pump(session);
        }
    }

    /// <summary>
    /// Drops the deliveries in flight to <paramref name="session"/> whose topic it may no longer
    /// receive (a revoked grant, a removed account), from memory and from the store, so that they
    /// are not resent with DUP after a reconnect. MQTT-4.4.0-1 asks a session to resend
    /// unacknowledged PUBLISH packets on reconnect; not resending these is a deliberate
    /// authorization decision, as the revoke would otherwise not take effect for them. A PUBLISH
    /// the client already acknowledged with PUBREC (QoS 2, awaiting PUBCOMP) has reached it, and its
    /// flow is finished normally. A late PUBACK or PUBREC for a dropped identifier finds nothing in
    /// flight and changes nothing (a PUBREC is answered with PUBREL 0x92, §4.3.3).
    /// Queued deliveries are checked when they are sent (<see cref="Pump"/>).
    /// </summary>
    public void DropUnauthorizedInFlight(Session session)
    {
        if (!session.HasInFlight)
        {
            return;
        }
        List<Delivery>? refused = null;
        foreach (Delivery delivery in session.InFlight.Values)
        {
            if (delivery.State != DeliveryState.AwaitingPubComp && !_state.MayReceive(session, delivery.Message.Topic))
            {
                (refused ??= []).Add(delivery);
            }
        }
        if (refused is null)
        {
            return;
        }
        foreach (Delivery delivery in refused)
        {
            session.InFlight.Remove(delivery.PacketIdentifier);
            Drop(session, delivery, "no longer authorized to receive (dropped from flight)");
        }
        Pump(session);
    }

    /// <summary>Forgets every delivery of a session that ends (its stored rows go with the session).</summary>
    public void DiscardAll(Session session)
    {
        DiscardSpilled(session);
        if (!session.HasInFlight && !session.HasQueued)
        {
            return;
        }
        foreach (Delivery delivery in session.InFlight.Values)
        {
            Release(delivery);
            _state.QueueQuota.Release(delivery);
        }
        foreach (Delivery delivery in session.Queued)
        {
            Release(delivery);
            _state.QueueQuota.Release(delivery);
        }
        session.InFlight.Clear();
        session.Queued.Clear();
    }

    /// <summary>The session's rows were deleted from the store (it stopped being persistent): its deliveries are memory-only now.</summary>
    public void ForgetStoredRows(Session session)
    {
        // A queue in memory only has no tail in the store: read it all back first (the caller's
        // DeleteSession is not committed yet, so the rows can still be read).
        bool more = true;
        while (more && session.Spilled is { Committed: > 0 } tail)
        {
            more = ReadBack(session, tail, (int)Math.Min(tail.Committed, _state.Options.MaxResidentDeliveriesPerSession)) > 0;
        }
        if (session.Spilled is { } rest)
        {
            while (rest.Uncommitted.TryDequeue(out Delivery? delivery))
            {
                LeaveTail(session, rest, delivery);
            }
            EndTailIfEmpty(session, rest);
        }
        if (!session.HasInFlight && !session.HasQueued)
        {
            return;
        }
        foreach (Delivery delivery in session.InFlight.Values)
        {
            Unstore(delivery);
        }
        foreach (Delivery delivery in session.Queued)
        {
            Unstore(delivery);
        }
    }

    // The delivery (stored, its message referenced) goes to the tail instead of the queue in memory;
    // until its commit is durable it is kept whole (see SettleSpilled).
    private void Spill(Session session, Delivery delivery)
    {
        SpilledTail tail = session.Spilled ??= new SpilledTail();
        if (tail.Count == 0)
        {
            tail.AfterSequence = delivery.Sequence - 1;
        }
        tail.Count++;
        _state.Counters.SpilledDeliveries++;
        _state.QueueQuota.ChargeSpilled(session, tail, AccountQueueQuota.SizeOf(delivery.Message));
        tail.Uncommitted.Enqueue(delivery);
        _durability.AwaitCommit(session, delivery.Epoch);
    }

    /// <summary>
    /// The commit of <paramref name="epoch"/> completed: the tail's deliveries it wrote are durable
    /// and can be left to the store, or were rolled back and are gone (their publishers were refused).
    /// </summary>
    private void SettleSpilled(Session session, long epoch, bool durable)
    {
        if (session.Spilled is not { } tail)
        {
            return;
        }
        while (tail.Uncommitted.TryPeek(out Delivery? delivery) && delivery.Epoch <= epoch)
        {
            tail.Uncommitted.Dequeue();
            ApplicationMessage message = delivery.Message;
            if (!durable && delivery.Epoch == epoch)
            {
                // As for a failed delivery in memory: its rows were rolled back with the message's.
                tail.Count--;
                _state.Counters.SpilledDeliveries--;
                _state.QueueQuota.ReleaseSpilled(session, tail, AccountQueueQuota.SizeOf(message));
                continue;
            }
            delivery.Epoch = 0;
            // Routing is over (the commit came in a later pass), so nothing new can refer to the
            // message unless something holds it already: when this delivery is its only reference,
            // the store keeps it and memory lets it go; the read-back builds it anew.
            if (message.StoreReferences == 1 && message.MemoryDeliveries == 0 && !message.IsPinned)
            {
                message.StoreReferences = 0;
                _state.Payloads.Untrack(message);
            }
            else
            {
                tail.Pinned[delivery.Sequence] = delivery;
            }
        }
        EndTailIfEmpty(session, tail);
    }

    /// <summary>
    /// Pumps the sessions whose deliveries could not be read back (the store was unavailable); those
    /// that fail again are kept for the next try. Once a second, under the lock.
    /// </summary>
    public void RetryUnreadDeliveries()
    {
        if (_unreadSessions.Count == 0)
        {
            return;
        }
        Session[] sessions = [.. _unreadSessions];
        _unreadSessions.Clear();
        foreach (Session session in sessions)
        {
            Refill(session);
            Pump(session);
        }
        if (_unreadSessions.Count == 0 && _storeReadsFailing)
        {
            _storeReadsFailing = false;
            _state.Log.StoredReadRecovered();
        }
    }

    // The store could not be read for what this session is due: it waits, safe in the store, and
    // Housekeeping tries again (RetryUnreadDeliveries); the broker pass goes on.
    private void MarkUnread(Session session, Exception failure)
    {
        if (!_storeReadsFailing)
        {
            _storeReadsFailing = true;
            _state.Log.StoredReadFailed(session.ClientId, failure);
        }
        _unreadSessions.Add(session);
    }

    // The payload a delivery of this message is sent with; a store that cannot be read marks the session for a retry.
    private PayloadReadResult ReadPayload(Session session, ApplicationMessage message, out ReadOnlyMemory<byte> payload)
    {
        PayloadReadResult read = _state.Payloads.TryRead(message, out payload, out Exception? failure);
        if (read == PayloadReadResult.Unavailable)
        {
            MarkUnread(session, failure!);
        }
        return read;
    }

    private void Refill(Session session)
    {
        if (session.Spilled is not { Committed: > 0 } tail)
        {
            return;
        }
        int queued = session.HasQueued ? session.Queued.Count : 0;
        int room = _state.Options.MaxResidentDeliveriesPerSession - queued;
        if (room > 0)
        {
            ReadBack(session, tail, (int)Math.Min(room, tail.Committed));
        }
    }

    /// <summary>
    /// Moves up to <paramref name="max"/> durable deliveries of the tail, in order, to the queue in
    /// memory (a released QoS 2 delivery to the in-flight set); returns how many rows were read.
    /// </summary>
    private int ReadBack(Session session, SpilledTail tail, int max)
    {
        IReadOnlyList<StoredQueuedDelivery> rows;
        try
        {
            rows = _state.Store.ReadDeliveries(session.ClientId, tail.AfterSequence, max);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A store on a database server that is away (the central's).
            MarkUnread(session, e);
            return 0;
        }
        foreach (StoredQueuedDelivery row in rows)
        {
            StoredDelivery stored = row.Delivery;
            tail.AfterSequence = stored.Sequence;
            Delivery? delivery = null;
            if (tail.HasPinned && tail.Pinned.Remove(stored.Sequence, out Delivery? pinned))
            {
                delivery = pinned;
            }
            else if (row.Message is { } storedMessage && StoredMessageCodec.Decode(storedMessage, _state.Payloads, _topics) is { } message)
            {
                // The store's reference becomes this delivery's, counted in memory again.
                message.StoreReferences = 1;
                delivery = new Delivery(message, stored.Sequence, (QualityOfService)stored.QoS, stored.Retain,
                    stored.SubscriptionIdentifiers.Length > 0 ? stored.SubscriptionIdentifiers : null)
                {
                    Stored = true,
                };
            }
            if (delivery is null)
            {
                // Its message is missing or unreadable: nothing could ever be sent for it.
                tail.Count--;
                _state.Counters.SpilledDeliveries--;
                _state.Store.DeleteDelivery(session.ClientId, stored.Sequence);
                continue;
            }
            if (stored.Released && !session.InFlight.ContainsKey(delivery.PacketIdentifier))
            {
                // PUBREC had arrived before a restart (§4.3.3): complete it with PUBREL.
                LeaveTail(session, tail, delivery, queue: false);
                delivery.State = DeliveryState.AwaitingPubComp;
                session.InFlight[delivery.PacketIdentifier] = delivery;
                session.Connection?.Send(new PubRelPacket(delivery.PacketIdentifier));
                continue;
            }
            LeaveTail(session, tail, delivery);
        }
        if (rows.Count < max && tail.Committed > 0)
        {
            // Fewer rows than the tail should hold (they were deleted behind the broker's back):
            // what is not there cannot be delivered; forget it rather than ask again and again.
            if (tail.HasPinned)
            {
                foreach (Delivery lost in tail.Pinned.Values)
                {
                    Release(lost);
                }
                tail.Pinned.Clear();
            }
            _state.Counters.SpilledDeliveries -= tail.Committed;
            tail.Count = tail.Uncommitted.Count;
        }
        EndTailIfEmpty(session, tail);
        return rows.Count;
    }

    // The delivery leaves the tail for memory: its charge moves from the tail's total to itself.
    private void LeaveTail(Session session, SpilledTail tail, Delivery delivery, bool queue = true)
    {
        tail.Count--;
        _state.Counters.SpilledDeliveries--;
        _state.QueueQuota.ReleaseSpilled(session, tail, AccountQueueQuota.SizeOf(delivery.Message));
        _state.QueueQuota.Charge(session, delivery);
        if (queue)
        {
            session.Queued.Enqueue(delivery);
        }
    }

    private void EndTailIfEmpty(Session session, SpilledTail tail)
    {
        if (tail.Count > 0 || !ReferenceEquals(session.Spilled, tail))
        {
            return;
        }
        // Whatever is left is rounding of the charges (a message read back counts as when it spilled).
        _state.QueueQuota.ReleaseSpilled(session, tail, tail.Bytes);
        session.Spilled = null;
    }

    // A session ends: its tail goes, and with it the messages only the store knew it referred to.
    private void DiscardSpilled(Session session)
    {
        if (session.Spilled is not { } tail)
        {
            return;
        }
        if (tail.StoreOwned > 0)
        {
            _state.Store.DeleteDeliveriesAfter(session.ClientId, tail.AfterSequence);
        }
        foreach (Delivery delivery in tail.Uncommitted)
        {
            Release(delivery);
        }
        if (tail.HasPinned)
        {
            foreach (Delivery delivery in tail.Pinned.Values)
            {
                Release(delivery);
            }
        }
        _state.Counters.SpilledDeliveries -= tail.Count;
        _state.QueueQuota.ReleaseSpilled(session, tail, tail.Bytes);
        session.Spilled = null;
    }

    private void Send(Session session, Connections.IClientConnection connection, Delivery delivery, ReadOnlyMemory<byte> payload, bool dup, long now)
    {
        delivery.Attempts++;
        if (connection.SendPublish(delivery.Message, payload, delivery.QoS, delivery.Retain, dup, delivery.PacketIdentifier, delivery.SubscriptionIdentifiers, now))
        {
            _state.Counters.MessagesSent++;
        }
        else
        {
            // Larger than the client's Maximum Packet Size: discarded as if delivered (§3.1.2.11.4).
            session.InFlight.Remove(delivery.PacketIdentifier);
            Drop(session, delivery, "larger than the client's Maximum Packet Size");
        }
    }

    private void Complete(Session session, Delivery delivery)
    {
        session.InFlight.Remove(delivery.PacketIdentifier);
        _state.QueueQuota.Release(delivery);
        if (delivery.Stored)
        {
            _state.Store.DeleteDelivery(session.ClientId, delivery.Sequence);
        }
        Release(delivery);
    }

    private void Drop(Session session, Delivery delivery, string reason)
    {
        _state.QueueQuota.Release(delivery);
        if (delivery.Stored)
        {
            _state.Store.DeleteDelivery(session.ClientId, delivery.Sequence);
        }
        Release(delivery);
        session.CountDropped();
        _state.Counters.MessagesDropped++;
        _state.Log.MessageDropped(session.ClientId, delivery.Message.Topic, reason, session.DroppedMessages);
    }

    /// <summary>The delivery is gone: completed, dropped or discarded.</summary>
    private void Release(Delivery delivery)
    {
        if (delivery.Stored)
        {
            delivery.Stored = false;
            _durability.Dereference(delivery.Message);
        }
        UncountInMemory(delivery);
    }

    /// <summary>The delivery stays, without its stored row.</summary>
    private void Unstore(Delivery delivery)
    {
        if (delivery.Stored)
        {
            CountInMemory(delivery);
            delivery.Stored = false;
            _durability.Dereference(delivery.Message);
        }
    }

    // See ApplicationMessage.MemoryDeliveries: the payload of a message with such deliveries is
    // read back into memory before its stored row is deleted.
    private static void CountInMemory(Delivery delivery)
    {
        if (!delivery.CountedInMemory)
        {
            delivery.CountedInMemory = true;
            delivery.Message.MemoryDeliveries++;
        }
    }

    private static void UncountInMemory(Delivery delivery)
    {
        if (delivery.CountedInMemory)
        {
            delivery.CountedInMemory = false;
            delivery.Message.MemoryDeliveries--;
        }
    }

    // For messages the broker publishes itself (engine outcomes, wills): nobody was promised delivery.
    private bool MakeRoom(Session session, ApplicationMessage message)
    {
        session.CountDropped();
        _state.Counters.MessagesDropped++;
        // A bounded queue of its own may be full of deliveries in flight, with none queued to drop.
        if (_state.Options.QueueOverflowPolicy == QueueOverflowPolicy.DropNewest || !session.HasQueued)
        {
            if (session.DroppedMessages == 1 || session.DroppedMessages % 1000 == 0)
            {
                _state.Log.MessageDropped(session.ClientId, message.Topic, "session queue full (policy: drop newest)", session.DroppedMessages);
            }
            return false;
        }
        Delivery oldest = session.Queued.Dequeue();
        _state.QueueQuota.Release(oldest);
        if (oldest.Stored)
        {
            _state.Store.DeleteDelivery(session.ClientId, oldest.Sequence);
        }
        Release(oldest);
        if (session.DroppedMessages == 1 || session.DroppedMessages % 1000 == 0)
        {
            _state.Log.MessageDropped(session.ClientId, oldest.Message.Topic, "session queue full (policy: drop oldest)", session.DroppedMessages);
        }
        return true;
    }
}

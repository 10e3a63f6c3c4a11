using IoTPE.Client.Dispatch;
using IoTPE.Client.Logging;
using IoTPE.Client.Storage;
using IoTPE.Mqtt;

namespace IoTPE.Client.Session;

/// <summary>
/// Messages the broker sends (spec 4.3 receiver side). QoS 2 uses the spec's second method (4.3.3, figure 4.3):
/// the message and its packet identifier are committed to the <c>incoming</c> table before PUBREC, so a resent
/// PUBLISH (DUP) is recognised and never stored or handled twice; the message is handed to handlers once PUBREL
/// arrived, each attempt being recorded first; when the handlers succeeded the row is deleted — together with any
/// replies they produced, in one transaction — and only then PUBCOMP goes out. QoS 1 is held in memory and PUBACK
/// goes out when the handlers succeeded (a redelivery of a message still being handled is merged with it); QoS 0 is
/// handed over once. Used under the session lock.
/// </summary>
internal sealed class IncomingPublishes
{
    private readonly ClientSession _session;
    private readonly Dictionary<ushort, Delivery> _atLeastOnce = [];
    private readonly Dictionary<ushort, Delivery> _exactlyOnce = [];
    private readonly List<Delivery> _restoredDetached = [];

    public IncomingPublishes(ClientSession session) => _session = session;

    /// <summary>Takes over the rows left by an earlier run: those the broker's session still holds wait for PUBREL, the others can be handled at once.</summary>
    public void Restore(List<IncomingRow> rows)
    {
        foreach (IncomingRow row in rows)
        {
            var delivery = new Delivery(StoredPublish.ToMessage(row.Packet), QualityOfService.ExactlyOnce, row.PacketId, row.Packet)
            {
                InboxId = row.Id,
                Committed = true,
                Attempts = row.Attempts,
            };
            if (row.PacketId != 0)
            {
                _exactlyOnce[row.PacketId] = delivery;
            }
            else
            {
                delivery.Released = true;
                _restoredDetached.Add(delivery);
            }
        }
    }

    /// <summary>Hands the restored messages that need no PUBREL to the dispatcher (once it runs).</summary>
    public void DispatchRestored()
    {
        foreach (Delivery delivery in _restoredDetached)
        {
            Dispatch(delivery);
        }

        _restoredDetached.Clear();
    }

    /// <summary>
    /// A connection was accepted. Without a session on the broker (Session Present 0) every packet identifier the
    /// client held is void: QoS 2 messages already committed are detached from theirs (durably, before any new PUBLISH
    /// can reuse one) and handled without waiting for a PUBREL that will not come.
    /// </summary>
    public void OnConnected(bool sessionPresent)
    {
        if (sessionPresent)
        {
            return;
        }

        _atLeastOnce.Clear();
        if (_exactlyOnce.Count == 0)
        {
            return;
        }

        ClientLog.SessionLost(_session.Logger, _exactlyOnce.Count);
        _session.Store.Submit(new StoreWork(database => database.DetachIncomingPacketIds(), error =>
        {
            if (error is not null)
            {
                ClientLog.StoreWriteFailed(_session.Logger, error);
            }
        }));
        foreach (Delivery delivery in _exactlyOnce.Values)
        {
            delivery.PacketId = 0;
            delivery.Released = true;
            if (delivery.Committed && !delivery.Dispatched)
            {
                Dispatch(delivery);
            }
        }

        _exactlyOnce.Clear();
    }

    /// <summary>A PUBLISH from the broker.</summary>
    public void OnPublish(in PublishPacket packet)
    {
        ushort id = packet.PacketIdentifier;
        switch (packet.QoS)
        {
            case QualityOfService.AtMostOnce:
                Dispatch(new Delivery(CopyMessage(packet), QualityOfService.AtMostOnce, 0, null));
                return;

            case QualityOfService.AtLeastOnce:
                if (_atLeastOnce.TryGetValue(id, out Delivery? pending))
                {
                    if (pending.AcknowledgementOwed)
                    {
                        _atLeastOnce.Remove(id);
                        _session.Send(new PubAckPacket(id));
                    }

                    return; // A redelivery of a message still being handled: it is acknowledged when done.
                }

                var atLeastOnce = new Delivery(CopyMessage(packet), QualityOfService.AtLeastOnce, id, null) { ResentByBroker = packet.Dup };
                _atLeastOnce[id] = atLeastOnce;
                Dispatch(atLeastOnce);
                return;

            default:
                if (_exactlyOnce.TryGetValue(id, out Delivery? known))
                {
                    if (known.Committed)
                    {
                        _session.Send(new PubRecPacket(id)); // Our PUBREC was lost: answer again, store and handle once.
                    }

                    return;
                }

                byte[] stored = StoredPublish.Encode(packet);
                var delivery = new Delivery(StoredPublish.ToMessage(stored), QualityOfService.ExactlyOnce, id, stored);
                _exactlyOnce[id] = delivery;
                string topic = delivery.Message.Topic;
                _session.Store.Submit(new StoreWork(
                    database => delivery.InboxId = database.InsertIncoming(id, topic, stored),
                    error => OnCommitted(delivery, error)));
                return;
        }
    }

    /// <summary>PUBREL: the message may be handled now; PUBCOMP follows once it was.</summary>
    public void OnPubRel(ushort packetId)
    {
        if (!_exactlyOnce.TryGetValue(packetId, out Delivery? delivery))
        {
            // Handled and completed already (our PUBCOMP was lost), or never known.
            _session.Send(new PubCompPacket(packetId));
            return;
        }

        if (!delivery.Released)
        {
            delivery.Released = true;
            if (delivery.Committed && !delivery.Dispatched)
            {
                Dispatch(delivery);
            }
        }
    }

    /// <summary>
    /// The handlers are done with a message (or it is given up on, when <paramref name="deadLetter"/> is set): commits
    /// the replies and the end of the message — for QoS 2 in one transaction — then acknowledges it.
    /// </summary>
    public void Complete(Delivery delivery, (DeadLetterReason Reason, string Error)? deadLetter)
    {
        IReadOnlyList<PublishPacket> replies = delivery.Replies;
        var outgoing = replies.Select(reply => OutgoingPublishes.Create(reply, null, null)).ToList();
        bool durable = delivery.InboxId != 0;
        if (!durable && outgoing.Count == 0 && deadLetter is null)
        {
            lock (_session.Gate)
            {
                Acknowledge(delivery);
            }

            return;
        }

        byte[] stored = delivery.Stored ??= StoredPublish.Encode(new PublishPacket(delivery.Message.Topic, delivery.Message.Payload)
        {
            QoS = delivery.QoS,
            PacketIdentifier = delivery.QoS == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)1,
            Retain = delivery.Message.Retain,
            Properties = delivery.Message.Properties,
        });
        Submit(new StoreWork(
            database =>
            {
                foreach (OutgoingMessage message in outgoing)
                {
                    _session.Outgoing.Insert(database, message);
                }

                if (deadLetter is { } letter)
                {
                    database.InsertDeadLetter(incoming: true, letter.Reason, delivery.Attempts, letter.Error, delivery.Message.Topic, stored);
                }

                if (durable)
                {
                    database.DeleteIncoming(delivery.InboxId);
                }
            },
            error =>
            {
                foreach (OutgoingMessage message in outgoing)
                {
                    _session.Outgoing.OnInserted(message, error);
                }

                if (error is not null)
                {
                    // The message stays stored (QoS 2) or unacknowledged (QoS 1): it is handled again after a restart or redelivery.
                    ClientLog.StoreWriteFailed(_session.Logger, error);
                    return;
                }

                lock (_session.Gate)
                {
                    Acknowledge(delivery);
                }

                if (deadLetter is { } given)
                {
                    _session.DeadLetters.Notify(new DeadLetter(delivery.Message, given.Reason, delivery.Attempts, given.Error));
                }
            }));
    }

    /// <summary>Submits work unless the client is already closed (a handler that outlived it): the message then stays for the next run.</summary>
    private void Submit(StoreWork work)
    {
        try
        {
            _session.Store.Submit(work);
        }
        catch (ObjectDisposedException)
        {
            // Closed: nothing is acknowledged, so the broker (QoS 1) or the state file (QoS 2) still has the message.
        }
    }

    /// <summary>Counts a handler attempt of stored messages before it starts (store thread), so that no attempt goes unrecorded.</summary>
    public Task RecordAttemptsAsync(IReadOnlyList<Delivery> deliveries) => _session.Store.SubmitAsync(database =>
    {
        foreach (Delivery delivery in deliveries)
        {
            database.CountIncomingAttempt(delivery.InboxId);
        }
    });

    private static MqttMessage CopyMessage(in PublishPacket packet) => new(packet.GetTopicName(), packet.Payload.ToArray())
    {
        QoS = packet.QoS,
        Retain = packet.Retain,
        Properties = packet.Properties,
    };

    private void OnCommitted(Delivery delivery, Exception? error)
    {
        lock (_session.Gate)
        {
            if (error is not null)
            {
                ClientLog.StoreWriteFailed(_session.Logger, error);
                if (_exactlyOnce.TryGetValue(delivery.PacketId, out Delivery? current) && current == delivery)
                {
                    _exactlyOnce.Remove(delivery.PacketId);
                }

                _session.AbortConnection(); // No PUBREC went out: the broker sends the message again.
                return;
            }

            delivery.Committed = true;
            if (delivery.PacketId != 0)
            {
                _session.Send(new PubRecPacket(delivery.PacketId));
            }

            if (delivery.Released && !delivery.Dispatched)
            {
                Dispatch(delivery); // Detached while the insert was under way.
            }
        }
    }

    /// <summary>Sends the acknowledgement that ends the message's flow, if the broker's session still holds it.</summary>
    private void Acknowledge(Delivery delivery)
    {
        switch (delivery.QoS)
        {
            case QualityOfService.AtLeastOnce:
                if (_atLeastOnce.TryGetValue(delivery.PacketId, out Delivery? pending) && pending == delivery)
                {
                    if (_session.IsConnected)
                    {
                        _atLeastOnce.Remove(delivery.PacketId);
                        _session.Send(new PubAckPacket(delivery.PacketId));
                    }
                    else
                    {
                        delivery.AcknowledgementOwed = true;
                    }
                }

                break;

            case QualityOfService.ExactlyOnce when delivery.PacketId != 0:
                if (_exactlyOnce.TryGetValue(delivery.PacketId, out Delivery? held) && held == delivery)
                {
                    _exactlyOnce.Remove(delivery.PacketId);
                }

                // Not connected: the broker resends PUBREL on reconnection and, the row being gone, gets PUBCOMP at once.
                _session.Send(new PubCompPacket(delivery.PacketId));
                break;
        }
    }

    private void Dispatch(Delivery delivery)
    {
        delivery.Dispatched = true;
        _session.Dispatcher.Enqueue(delivery);
    }
}

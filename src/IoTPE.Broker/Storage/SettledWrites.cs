namespace IoTPE.Broker.Storage;

/// <summary>
/// Finds the writes of a batch that need not be applied because the same batch takes them back:
/// a message or delivery inserted and then deleted before the batch is committed (a run request
/// the engine had run and acknowledged before its commit started). The batch is one transaction,
/// so nobody could ever read the row in between: applying neither leaves the database as applying
/// both would. A store's single writer keeps one instance and asks it once per batch.
/// </summary>
/// <remarks>
/// Only exact pairs are cancelled: an <see cref="StoreOperationKind.InsertDelivery"/> and the
/// <see cref="StoreOperationKind.DeleteDelivery"/> of the same client and sequence; an
/// <see cref="StoreOperationKind.InsertMessage"/> and the <see cref="StoreOperationKind.DeleteMessage"/>
/// of its id, when every delivery of it inserted in the batch was cancelled and no retained entry
/// names it. A write that could make a later delete mean something else
/// (<see cref="StoreOperationKind.DeleteDeliveriesAfter"/>, <see cref="StoreOperationKind.DeleteSession"/>)
/// ends the pairing for what came before it. Cancelled writes still count as writes of their
/// segment when a batch fails: a callback is never told <see langword="true"/> for a failed batch
/// because its writes happened to cancel.
/// </remarks>
public sealed class SettledWrites
{
    private readonly Dictionary<long, int> _messageInserts = [];
    private readonly Dictionary<(string ClientId, long Sequence), int> _deliveryInserts = [];
    // Per message id: deliveries of it inserted in the batch and not (yet) cancelled.
    private readonly Dictionary<long, int> _liveDeliveries = [];
    private bool[] _cancelled = new bool[64];

    /// <summary>How many writes the last <see cref="Find"/> cancelled.</summary>
    public int CancelledCount { get; private set; }

    /// <summary>Whether the write at <paramref name="index"/> of the last batch given to <see cref="Find"/> is cancelled.</summary>
    public bool IsCancelled(int index) => CancelledCount > 0 && _cancelled[index];

    /// <summary>Marks the writes of <paramref name="batch"/> that a later write of it takes back.</summary>
    /// <returns>How many writes were cancelled.</returns>
    public int Find(StoreOperationBuffer batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_cancelled.Length < batch.Count)
        {
            _cancelled = new bool[Math.Max(batch.Count, _cancelled.Length * 2)];
        }
        else
        {
            Array.Clear(_cancelled, 0, batch.Count);
        }
        CancelledCount = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            ref readonly StoreOperation operation = ref batch[i];
            switch (operation.Kind)
            {
                case StoreOperationKind.InsertMessage:
                    // An id inserted twice would fail its second insert: pair neither.
                    long id = ((StoredMessage)operation.Reference!).Id;
                    _messageInserts[id] = _messageInserts.ContainsKey(id) ? -1 : i;
                    break;
                case StoreOperationKind.InsertDelivery:
                    var delivery = (StoredDelivery)operation.Reference!;
                    var key = (delivery.ClientId, delivery.Sequence);
                    _deliveryInserts[key] = _deliveryInserts.ContainsKey(key) ? -1 : i;
                    _liveDeliveries[delivery.MessageId] = _liveDeliveries.GetValueOrDefault(delivery.MessageId) + 1;
                    break;
                case StoreOperationKind.DeleteDelivery:
                    if (_deliveryInserts.Remove((operation.Text!, operation.Number), out int inserted) && inserted >= 0)
                    {
                        Cancel(inserted, i);
                        _liveDeliveries[((StoredDelivery)batch[inserted].Reference!).MessageId]--;
                    }
                    break;
                case StoreOperationKind.DeleteMessage:
                    if (_messageInserts.Remove(operation.Number, out int insertedMessage) && insertedMessage >= 0 &&
                        _liveDeliveries.GetValueOrDefault(operation.Number) == 0)
                    {
                        Cancel(insertedMessage, i);
                    }
                    break;
                case StoreOperationKind.SetRetained:
                    if (_messageInserts.ContainsKey(operation.Number))
                    {
                        _messageInserts[operation.Number] = -1;
                    }
                    break;
                case StoreOperationKind.DeleteDeliveriesAfter:
                case StoreOperationKind.DeleteSession:
                    // Deletes rows the pairs above know nothing of: pair nothing across it.
                    _messageInserts.Clear();
                    _deliveryInserts.Clear();
                    _liveDeliveries.Clear();
                    break;
            }
        }
        _messageInserts.Clear();
        _deliveryInserts.Clear();
        _liveDeliveries.Clear();
        return CancelledCount;
    }

    private void Cancel(int insert, int delete)
    {
        _cancelled[insert] = true;
        _cancelled[delete] = true;
        CancelledCount += 2;
    }
}

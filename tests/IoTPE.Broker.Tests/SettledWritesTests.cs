using IoTPE.Broker.Storage;

namespace IoTPE.Broker.Tests;

/// <summary>Which writes of a batch cancel out: only exact insert/delete pairs that nothing else in the batch refers to.</summary>
public sealed class SettledWritesTests
{
    private const string Engine = "$iotpe/engine";

    [Fact]
    public void A_message_and_its_delivery_deleted_in_the_same_batch_cancel_with_their_deletes()
    {
        StoreOperationBuffer batch = Batch(
            InsertMessage(7), InsertDelivery(Engine, 1, 7), WhenDurable(),
            InsertMessage(8), InsertDelivery("other", 4, 8), WhenDurable(),
            DeleteDelivery(Engine, 1), DeleteMessage(7));

        SettledWrites settled = new();
        Assert.Equal(4, settled.Find(batch));
        Assert.Equal([true, true, false, false, false, false, true, true], Cancelled(settled, batch));
    }

    [Fact]
    public void A_message_stays_while_a_delivery_of_it_inserted_in_the_batch_stays()
    {
        // Two sessions got the message; only one acknowledged it before the commit. (The broker would
        // not delete the message then; were it to, the row the other delivery refers to must still be written.)
        StoreOperationBuffer batch = Batch(
            InsertMessage(7), InsertDelivery(Engine, 1, 7), InsertDelivery("other", 4, 7), WhenDurable(),
            DeleteDelivery(Engine, 1), DeleteMessage(7));

        SettledWrites settled = new();
        Assert.Equal(2, settled.Find(batch));
        Assert.Equal([false, true, false, false, true, false], Cancelled(settled, batch));
    }

    [Fact]
    public void Deletes_of_rows_written_in_an_earlier_batch_are_kept()
    {
        StoreOperationBuffer batch = Batch(DeleteDelivery(Engine, 1), DeleteMessage(7), InsertMessage(8), WhenDurable());
        Assert.Equal(0, new SettledWrites().Find(batch));
    }

    [Fact]
    public void A_retained_entry_keeps_its_message_and_a_bulk_delete_ends_the_pairing()
    {
        StoreOperationBuffer retained = Batch(InsertMessage(7), new StoreOperation(StoreOperationKind.SetRetained, null, "t", 7), DeleteMessage(7));
        Assert.Equal(0, new SettledWrites().Find(retained));

        // DeleteDeliveriesAfter already removed the delivery: the later delete must stay after it, in order.
        StoreOperationBuffer bulk = Batch(
            InsertDelivery(Engine, 5, 7), new StoreOperation(StoreOperationKind.DeleteDeliveriesAfter, null, Engine, 4),
            DeleteDelivery(Engine, 5));
        Assert.Equal(0, new SettledWrites().Find(bulk));
    }

    [Fact]
    public void A_row_inserted_twice_is_not_paired()
    {
        // The second insert fails as a constraint violation: dropping the first with the delete would change the outcome.
        StoreOperationBuffer batch = Batch(InsertDelivery(Engine, 1, 7), InsertDelivery(Engine, 1, 7), DeleteDelivery(Engine, 1));
        Assert.Equal(0, new SettledWrites().Find(batch));
    }

    [Fact]
    public void Each_batch_is_judged_alone()
    {
        SettledWrites settled = new();
        Assert.Equal(2, settled.Find(Batch(InsertMessage(7), DeleteMessage(7))));
        StoreOperationBuffer next = Batch(DeleteMessage(7), InsertMessage(9));
        Assert.Equal(0, settled.Find(next));
        Assert.Equal([false, false], Cancelled(settled, next));
    }

    private static StoreOperationBuffer Batch(params StoreOperation[] operations)
    {
        var buffer = new StoreOperationBuffer(2);
        foreach (StoreOperation operation in operations)
        {
            buffer.Add(operation);
        }
        return buffer;
    }

    private static bool[] Cancelled(SettledWrites settled, StoreOperationBuffer batch) =>
        [.. Enumerable.Range(0, batch.Count).Select(settled.IsCancelled)];

    private static StoreOperation InsertMessage(long id) =>
        new(StoreOperationKind.InsertMessage, new StoredMessage(id, [0x32, 0x00], null, null, null), null, 0);

    private static StoreOperation DeleteMessage(long id) => new(StoreOperationKind.DeleteMessage, null, null, id);

    private static StoreOperation InsertDelivery(string clientId, long sequence, long messageId) =>
        new(StoreOperationKind.InsertDelivery, new StoredDelivery(clientId, sequence, messageId, 1, false, false, []), null, 0);

    private static StoreOperation DeleteDelivery(string clientId, long sequence) => new(StoreOperationKind.DeleteDelivery, null, clientId, sequence);

    private static StoreOperation WhenDurable() => new(StoreOperationKind.WhenDurable, (Action<bool>)(_ => { }), null, 0);
}

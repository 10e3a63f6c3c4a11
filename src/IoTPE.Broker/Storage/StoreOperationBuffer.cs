namespace IoTPE.Broker.Storage;

/// <summary>
/// A growable array of <see cref="StoreOperation"/> values. The store keeps two and swaps them:
/// callers fill one while the writer applies the other, so after warm-up neither allocates.
/// </summary>
public sealed class StoreOperationBuffer
{
    private StoreOperation[] _items;

    /// <summary>Creates an empty buffer.</summary>
    public StoreOperationBuffer(int initialCapacity) => _items = new StoreOperation[initialCapacity];

    /// <summary>How many operations the buffer holds.</summary>
    public int Count { get; private set; }

    /// <summary>The operation at <paramref name="index"/>.</summary>
    public ref readonly StoreOperation this[int index] => ref _items[index];

    /// <summary>Appends an operation.</summary>
    public void Add(in StoreOperation operation)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }
        _items[Count++] = operation;
    }

    /// <summary>Empties the buffer, dropping its references so applied records can be collected.</summary>
    public void Clear()
    {
        Array.Clear(_items, 0, Count);
        Count = 0;
    }
}

namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>
/// A thread-safe list that wakes its waiters on every addition, so a test waits for the item it expects instead of
/// polling or sleeping.
/// </summary>
public sealed class SignalledList<T>
{
    private readonly List<T> _items = [];
    private TaskCompletionSource _added = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Count
    {
        get
        {
            lock (_items)
            {
                return _items.Count;
            }
        }
    }

    /// <summary>A copy of the items, in the order they were added.</summary>
    public IReadOnlyList<T> Items
    {
        get
        {
            lock (_items)
            {
                return [.. _items];
            }
        }
    }

    public void Add(T item)
    {
        TaskCompletionSource added;
        lock (_items)
        {
            _items.Add(item);
            added = _added;
            _added = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        added.SetResult();
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the items so far; false on timeout (15 s unless told).</summary>
    public async Task<bool> WaitUntilAsync(Func<IReadOnlyList<T>, bool> condition, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            Task added;
            IReadOnlyList<T> items;
            lock (_items)
            {
                added = _added.Task; // Taken with the snapshot: an addition after it completes this task.
                items = [.. _items];
            }

            if (condition(items))
            {
                return true;
            }

            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return condition(Items);
            }

            try
            {
                await added.WaitAsync(left);
            }
            catch (TimeoutException)
            {
                return condition(Items);
            }
        }
    }
}

namespace IoTPE.Scripting.Runtime;

/// <summary>
/// One owner's (account's) pending work and heap. At most one worker processes an owner at a
/// time (<see cref="Scheduled"/>), which is what keeps one owner's runs in order.
/// </summary>
internal sealed class ScriptOwnerQueue(string owner)
{
    /// <summary>Guards <see cref="Pending"/>, <see cref="Scheduled"/> and <see cref="Removed"/>.</summary>
    public Lock Sync { get; } = new();

    public string Owner { get; } = owner;

    public Queue<ScriptRunRequest> Pending { get; } = new();

    /// <summary>In the ready queue or being processed by a worker.</summary>
    public bool Scheduled { get; set; }

    /// <summary>Released and dropped from the runtime's table: submitters must take a fresh entry.</summary>
    public bool Removed { get; set; }

    /// <summary>The owner's heap; touched only by the worker processing this owner. Created on first use.</summary>
    public ScriptHeap? Heap { get; set; }

    private long _lastUsed;

    /// <summary>When the owner last submitted work (a timestamp of the runtime's clock); read without a lock.</summary>
    public long LastUsed
    {
        get => Volatile.Read(ref _lastUsed);
        set => Volatile.Write(ref _lastUsed, value);
    }
}

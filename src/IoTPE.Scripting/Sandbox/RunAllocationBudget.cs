using Jint;

namespace IoTPE.Scripting.Sandbox;

/// <summary>
/// The managed bytes one run may allocate, over the whole run (the call, the promise jobs it
/// queued, its host calls), checked before every statement. Jint's own LimitMemory restarts its
/// count at each entry into the engine, so an async script could allocate a fresh budget in every
/// promise job.
/// </summary>
/// <remarks>
/// Allocation is counted with <see cref="GC.GetAllocatedBytesForCurrentThread"/> (a run executes on
/// one thread from start to end), but it is only the trigger: an ordinary loop makes garbage at
/// hundreds of MB/s (every non-cached number is an object), and failing on that would fail any
/// script that computes for a while. Each time the run has allocated another budget, the heap is
/// collected and what is still alive is compared with the heap at the start of the run: only a
/// run that holds more than its budget fails. The heap is the process's, so a run holding much
/// at the same moment on another worker counts too; that run fails at its own next check.
/// Failing throws <see cref="InsufficientMemoryException"/>, a CLR exception JavaScript cannot catch.
/// </remarks>
internal sealed class RunAllocationBudget : Constraint
{
    private long _start;
    private long _heapAtStart;
    private long _nextCheck;
    private long _limit = -1;

    /// <summary>Arms the budget: from now on the run may hold <paramref name="limit"/> more bytes than the heap holds now.</summary>
    public void Begin(long limit)
    {
        _start = GC.GetAllocatedBytesForCurrentThread();
        _heapAtStart = GC.GetTotalMemory(forceFullCollection: false);
        _nextCheck = limit;
        _limit = limit;
    }

    /// <summary>Disarms the budget.</summary>
    public void End() => _limit = -1;

    public override void Check()
    {
        if (_limit < 0)
        {
            return;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - _start;
        if (allocated <= _nextCheck)
        {
            return;
        }
        GC.Collect();
        if (GC.GetTotalMemory(forceFullCollection: false) - _heapAtStart > _limit)
        {
            throw new InsufficientMemoryException("The script holds more than its memory budget.");
        }
        _nextCheck = allocated + _limit;
    }

    /// <summary>Deliberately nothing: the budget spans the run, across the engine's entries.</summary>
    public override void Reset()
    {
    }
}

using Jint;

namespace IoTPE.Scripting.Sandbox;

/// <summary>
/// The managed bytes one run may allocate, over the whole run (the call, the promise jobs it
/// queued, its host calls), checked before every statement. Jint's own LimitMemory restarts its
/// count at each entry into the engine, so an async script could allocate a fresh budget in every
/// promise job.
/// </summary>
/// <remarks>
/// Counts with <see cref="GC.GetAllocatedBytesForCurrentThread"/>: a run executes on one thread
/// from start to end. Failing throws <see cref="InsufficientMemoryException"/>, a CLR exception
/// JavaScript cannot catch.
/// </remarks>
internal sealed class RunAllocationBudget : Constraint
{
    private long _start;
    private long _limit = -1;

    /// <summary>Arms the budget: from now on the thread may allocate <paramref name="limit"/> bytes.</summary>
    public void Begin(long limit)
    {
        _start = GC.GetAllocatedBytesForCurrentThread();
        _limit = limit;
    }

    /// <summary>Disarms the budget.</summary>
    public void End() => _limit = -1;

    public override void Check()
    {
        if (_limit >= 0 && GC.GetAllocatedBytesForCurrentThread() - _start > _limit)
        {
            throw new InsufficientMemoryException("The script allocated more than its memory budget.");
        }
    }

    /// <summary>Deliberately nothing: the budget spans the run, across the engine's entries.</summary>
    public override void Reset()
    {
    }
}

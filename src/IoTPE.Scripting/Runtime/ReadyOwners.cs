using System.Diagnostics.CodeAnalysis;
using IoTPE.Threading;

namespace IoTPE.Scripting.Runtime;

/// <summary>
/// The owners with runs waiting, in the order their turns come, which idle script workers sleep on.
/// </summary>
/// <remarks>
/// A worker with nothing to do sleeps on its own <see cref="WakeSignal"/> at once, and is woken by
/// the one who hands it work after the queue's lock is released. The <c>BlockingCollection</c> used
/// first spun and yielded before it slept (a fifth of the process's CPU at a run per millisecond);
/// <see cref="Monitor.Wait(object)"/>, used next, woke the worker inside the lock it then had to take
/// back, which cost several context switches per run (see <see cref="WakeSignal"/>).
/// </remarks>
internal sealed class ReadyOwners
{
    private readonly Queue<ScriptOwnerQueue> _owners = new();
    private readonly Stack<WakeSignal> _sleepers = new();
    private readonly Lock _lock = new();
    private bool _closed;

    /// <summary>Puts the owner at the end of the line and wakes one sleeping worker, if any.</summary>
    public void Add(ScriptOwnerQueue owner)
    {
        WakeSignal? sleeper;
        lock (_lock)
        {
            _owners.Enqueue(owner);
            _sleepers.TryPop(out sleeper);
        }
        sleeper?.Set();
    }

    /// <summary>
    /// Waits on <paramref name="wake"/> (the calling worker's own) for the next owner; false once
    /// <see cref="Close"/> was called (what is left is not handed out).
    /// </summary>
    public bool TryTake(WakeSignal wake, [NotNullWhen(true)] out ScriptOwnerQueue? owner)
    {
        while (true)
        {
            lock (_lock)
            {
                if (_closed)
                {
                    owner = null;
                    return false;
                }
                if (_owners.TryDequeue(out owner))
                {
                    return true;
                }
                // Whoever pops it sets it, so a set between here and the wait is not lost.
                _sleepers.Push(wake);
            }
            wake.Wait();
        }
    }

    /// <summary>Wakes every worker and makes <see cref="TryTake"/> return false from now on.</summary>
    public void Close()
    {
        WakeSignal[] sleepers;
        lock (_lock)
        {
            _closed = true;
            sleepers = [.. _sleepers];
            _sleepers.Clear();
        }
        foreach (WakeSignal sleeper in sleepers)
        {
            sleeper.Set();
        }
    }
}

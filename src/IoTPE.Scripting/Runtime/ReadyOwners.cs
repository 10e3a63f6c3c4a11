using System.Diagnostics.CodeAnalysis;

namespace IoTPE.Scripting.Runtime;

/// <summary>
/// The owners with runs waiting, in the order their turns come, which idle script workers sleep on.
/// </summary>
/// <remarks>
/// A worker with nothing to do blocks in <see cref="Monitor.Wait(object)"/> at once. The
/// <c>BlockingCollection</c> used before takes through a <c>SemaphoreSlim</c>, which spins and
/// yields before it sleeps; at ordinary loads (a run every millisecond) the workers then spent
/// about a fifth of the process's CPU spinning, which a Raspberry Pi cannot spare.
/// </remarks>
internal sealed class ReadyOwners
{
    private readonly Queue<ScriptOwnerQueue> _owners = new();
    // A Monitor rather than System.Threading.Lock: workers sleep on it with Monitor.Wait.
    private readonly object _gate = new();
    private int _sleepers;
    private bool _closed;

    /// <summary>Puts the owner at the end of the line and wakes one sleeping worker, if any.</summary>
    public void Add(ScriptOwnerQueue owner)
    {
        lock (_gate)
        {
            _owners.Enqueue(owner);
            if (_sleepers > 0)
            {
                Monitor.Pulse(_gate);
            }
        }
    }

    /// <summary>Waits for the next owner; false once <see cref="Close"/> was called (what is left is not handed out).</summary>
    public bool TryTake([NotNullWhen(true)] out ScriptOwnerQueue? owner)
    {
        lock (_gate)
        {
            while (!_closed && _owners.Count == 0)
            {
                _sleepers++;
                try
                {
                    Monitor.Wait(_gate);
                }
                finally
                {
                    _sleepers--;
                }
            }
            if (_closed)
            {
                owner = null;
                return false;
            }
            owner = _owners.Dequeue();
            return true;
        }
    }

    /// <summary>Wakes every worker and makes <see cref="TryTake"/> return false from now on.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.PulseAll(_gate);
        }
    }
}

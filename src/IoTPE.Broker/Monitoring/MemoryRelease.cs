using System.Runtime;

namespace IoTPE.Broker.Monitoring;

/// <summary>
/// Gives memory back to the system after a wave of connections has gone (a flood of connections
/// that never completed CONNECT, devices that all reconnected elsewhere): their buffers are free,
/// but a garbage collector that sees no new allocations has no reason to run, so the process would
/// keep its peak size for good. Once the connections have fallen to half a high-water mark at least
/// <see cref="Wave"/> above them, one compacting collection runs, off the broker lock.
/// Called from the housekeeping tick, under the broker lock.
/// </summary>
internal sealed class MemoryRelease
{
    /// <summary>How many connections must have gone for a release to be worth a full collection.</summary>
    public const int Wave = 500;

    private int _highWater;
    private int _running;

    /// <summary>Collections run so far.</summary>
    public long Releases { get; private set; }

    /// <summary>Looks at the current number of connections; starts a release when a wave has gone.</summary>
    public void Observe(int connections)
    {
        if (connections > _highWater)
        {
            _highWater = connections;
            return;
        }
        if (_highWater - connections < Wave || connections > _highWater / 2 || Volatile.Read(ref _running) != 0)
        {
            return;
        }
        _highWater = connections;
        Releases++;
        Volatile.Write(ref _running, 1);
        _ = Task.Run(() =>
        {
            try
            {
                // Pooled buffers are trimmed by the pools on a full collection; compacting the large
                // object heap returns the big ones' pages too.
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }
            finally
            {
                Volatile.Write(ref _running, 0);
            }
        });
    }
}

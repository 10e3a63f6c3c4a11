namespace IoTPE.TestSupport;

/// <summary>
/// A clock that moves only when told, firing the timers that fall due: tests of timing advance it
/// instead of sleeping, so they neither wait in real time nor race a loaded machine.
/// </summary>
public sealed class ManualClock : TimeProvider
{
    private readonly List<ManualTimer> _timers = [];
    private long _now;

    /// <inheritdoc/>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc/>
    public override long GetTimestamp() => Interlocked.Read(ref _now);

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() => Epoch.AddTicks(GetTimestamp());

    /// <inheritdoc/>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(callback, state, dueTime == Timeout.InfiniteTimeSpan ? long.MaxValue : GetTimestamp() + dueTime.Ticks,
            period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks);
        lock (_timers)
        {
            _timers.Add(timer);
        }
        return timer;
    }

    /// <summary>Moves the clock forward and fires every timer that falls due, on the calling thread.</summary>
    public void Advance(TimeSpan by)
    {
        long now = Interlocked.Add(ref _now, by.Ticks);
        ManualTimer[] timers;
        lock (_timers)
        {
            _timers.RemoveAll(t => t.IsDisposed);
            timers = [.. _timers];
        }
        foreach (ManualTimer timer in timers)
        {
            timer.FireIfDue(now);
        }
    }

    /// <summary>
    /// Moves the clock forward one second at a time, as a once-a-second timer (the broker's
    /// housekeeping) ticks, so that each tick sees its own moment.
    /// </summary>
    public void AdvanceSeconds(int seconds)
    {
        for (int i = 0; i < seconds; i++)
        {
            Advance(TimeSpan.FromSeconds(1));
        }
    }

    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private sealed class ManualTimer(TimerCallback callback, object? state, long due, long period) : ITimer
    {
        public bool IsDisposed { get; private set; }

        public void FireIfDue(long now)
        {
            if (!IsDisposed && now >= due)
            {
                due = period > 0 ? now + period : long.MaxValue;
                callback(state);
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period) => false;

        public void Dispose() => IsDisposed = true;

        public ValueTask DisposeAsync()
        {
            IsDisposed = true;
            return ValueTask.CompletedTask;
        }
    }
}

namespace IoTPE.Gpio;

/// <summary>
/// What keeps a bouncing or chattering input from flooding the broker and the engine: first
/// debounce (a level counts once it has held for the debounce time), then a rate limit per second
/// (edges beyond it within the second are coalesced into one report of the level the line has when
/// the second ends, if that differs from the last one reported).
/// </summary>
/// <remarks>
/// <see cref="OnLevel"/> is called from the driver's event thread; reports are made under this
/// filter's lock, in order, so the receiver must only queue them.
/// </remarks>
internal sealed class EdgeFilter : IDisposable
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    private readonly object _sync = new();
    private readonly TimeSpan _debounce;
    private readonly int _maxPerWindow;
    private readonly TimeProvider _time;
    private readonly Action<FilteredLevel> _report;
    // A new timer each time instead of ITimer.Change: a debounce restarts on every bounce, and
    // a timer created with its due time is what every TimeProvider (test clocks too) supports.
    private ITimer? _debounceTimer;
    private ITimer? _windowTimer;
    private bool _latest;
    private bool _settled;
    private bool _reported;
    private long _windowStart;
    private int _inWindow;
    private int _coalesced;
    private bool _windowTimerArmed;
    private int _debounceGeneration;
    private bool _disposed;

    /// <param name="initial">The level when the pin was opened (already reported).</param>
    /// <param name="debounce">How long a level must hold; zero: every change counts.</param>
    /// <param name="maxPerSecond">Most reports per second.</param>
    /// <param name="time">The clock.</param>
    /// <param name="report">Receives each report; called under the filter's lock.</param>
    public EdgeFilter(bool initial, TimeSpan debounce, int maxPerSecond, TimeProvider time, Action<FilteredLevel> report)
    {
        _latest = _settled = _reported = initial;
        _debounce = debounce;
        _maxPerWindow = maxPerSecond;
        _time = time;
        _report = report;
        _windowStart = time.GetTimestamp();
    }

    /// <summary>The line's level changed (or may have: a repeated level is ignored).</summary>
    public void OnLevel(bool level)
    {
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }
            _latest = level;
            if (_debounce <= TimeSpan.Zero)
            {
                Settle();
            }
            else
            {
                _debounceTimer?.Dispose(); // every change restarts the wait
                int generation = ++_debounceGeneration;
                _debounceTimer = _time.CreateTimer(_ => OnSettled(generation), null, _debounce, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void OnSettled(int generation)
    {
        lock (_sync)
        {
            // A timer replaced by a later change may still fire once: only the latest one counts.
            if (!_disposed && generation == _debounceGeneration)
            {
                Settle();
            }
        }
    }

    // Under _sync: the level has held long enough.
    private void Settle()
    {
        bool previous = _settled;
        _settled = _latest;
        if (_settled == previous)
        {
            return; // bounced back within the debounce time, or the same level again: no edge
        }
        long now = _time.GetTimestamp();
        if (!_windowTimerArmed && _time.GetElapsedTime(_windowStart, now) >= Window)
        {
            _windowStart = now;
            _inWindow = 0;
        }
        if (_inWindow < _maxPerWindow && _settled != _reported)
        {
            _inWindow++;
            _reported = _settled;
            _report(new FilteredLevel(_reported, Changed: true, Coalesced: 0));
            return;
        }
        // Beyond the allowance (or back to the level last reported, the way there having been
        // dropped): dropped, counted, and the level at the window's end is reported if it is news.
        _coalesced++;
        if (!_windowTimerArmed)
        {
            _windowTimerArmed = true;
            TimeSpan left = Window - _time.GetElapsedTime(_windowStart, now);
            _windowTimer?.Dispose();
            _windowTimer = _time.CreateTimer(_ => OnWindowEnd(), null, left > TimeSpan.Zero ? left : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnWindowEnd()
    {
        lock (_sync)
        {
            _windowTimerArmed = false;
            if (_disposed)
            {
                return;
            }
            _windowStart = _time.GetTimestamp();
            _inWindow = 0;
            int coalesced = _coalesced;
            _coalesced = 0;
            if (_settled != _reported)
            {
                _inWindow = 1;
                _reported = _settled;
                _report(new FilteredLevel(_reported, Changed: true, coalesced));
            }
            else if (coalesced > 0)
            {
                _report(new FilteredLevel(_reported, Changed: false, coalesced)); // no new level, but the count is logged
            }
        }
    }

    public void Dispose()
    {
        lock (_sync)
        {
            _disposed = true;
            _debounceTimer?.Dispose();
            _windowTimer?.Dispose();
        }
    }
}

/// <summary>One report of an <see cref="EdgeFilter"/>.</summary>
/// <param name="Level">The level reported.</param>
/// <param name="Changed">It differs from the previous report (an edge); false: only <paramref name="Coalesced"/> is news.</param>
/// <param name="Coalesced">Edges dropped by the rate limit in the second before this report.</param>
internal readonly record struct FilteredLevel(bool Level, bool Changed, int Coalesced);

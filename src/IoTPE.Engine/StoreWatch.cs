using IoTPE.Threading;

namespace IoTPE.Engine;

/// <summary>
/// Looks for what other processes (<c>iotpe account</c>, <c>iotpe script</c>) changed in the
/// engine's stores: every poll runs at each tick of the process's <see cref="Ticker"/>, so that an
/// idle gateway wakes once per interval for all its periodic work instead of once per poll — on a
/// small board every wake-up costs more than the poll itself.
/// </summary>
internal sealed class StoreWatch : IDisposable
{
    private readonly Action[] _polls;
    private readonly Ticker _ticker;
    private readonly Action _pollAll;

    /// <param name="ticker">The ticker whose ticks run the polls.</param>
    /// <param name="polls">Polls that never throw (they report their own failures).</param>
    public StoreWatch(Ticker ticker, params Action[] polls)
    {
        _polls = polls;
        _ticker = ticker;
        _pollAll = PollAll;
        ticker.Add(_pollAll);
    }

    private void PollAll()
    {
        foreach (Action poll in _polls)
        {
            poll();
        }
    }

    public void Dispose() => _ticker.Remove(_pollAll);
}

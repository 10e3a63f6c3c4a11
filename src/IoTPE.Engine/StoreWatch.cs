namespace IoTPE.Engine;

/// <summary>
/// Looks for what other processes (<c>iotpe account</c>, <c>iotpe script</c>) changed in the
/// engine's stores: one timer for every poll, so that an idle gateway wakes once per interval
/// instead of once per poll — on a small board every wake-up costs more than the poll itself.
/// </summary>
internal sealed class StoreWatch : IDisposable
{
    private readonly Action[] _polls;
    private readonly Timer _timer;

    /// <param name="interval">Time between two rounds of polls.</param>
    /// <param name="polls">Polls that never throw (they report their own failures).</param>
    public StoreWatch(TimeSpan interval, params Action[] polls)
    {
        _polls = polls;
        _timer = new Timer(static state => ((StoreWatch)state!).PollAll(), this, interval, interval);
    }

    private void PollAll()
    {
        foreach (Action poll in _polls)
        {
            poll();
        }
    }

    public void Dispose() => _timer.Dispose();
}

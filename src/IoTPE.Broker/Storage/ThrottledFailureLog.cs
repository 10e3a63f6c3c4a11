using System.Diagnostics;

namespace IoTPE.Broker.Storage;

/// <summary>
/// Passes failure reports to the log sink, at most one per interval: a full disk fails every batch,
/// hundreds per second, and the log (often on the same full disk) must not pay for each of them.
/// The first report always goes out; later ones within the interval are counted and the count is
/// appended to the next report that goes out.
/// </summary>
public sealed class ThrottledFailureLog
{
    private readonly Action<string> _sink;
    private readonly long _intervalTicks;
    private long _lastReportTimestamp;
    private bool _reported;
    private int _suppressed;

    /// <summary>Creates the throttle in front of <paramref name="sink"/>.</summary>
    public ThrottledFailureLog(Action<string> sink, TimeSpan interval)
    {
        _sink = sink;
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Reports a failure, or counts it when one was reported less than an interval ago.</summary>
    public void Report(string message)
    {
        long now = Stopwatch.GetTimestamp();
        if (_reported && now - _lastReportTimestamp < _intervalTicks)
        {
            _suppressed++;
            return;
        }
        string line = _suppressed == 0 ? message : $"{message} ({_suppressed} similar failures not logged since the previous report)";
        _reported = true;
        _lastReportTimestamp = now;
        _suppressed = 0;
        _sink(line);
    }

    /// <summary>
    /// Wraps a log sink so that an exception it throws is dropped: the writer thread logs from places
    /// where a throw would leave callbacks unrun, and a failing log is no reason to stop storing.
    /// </summary>
    public static Action<string> Guard(Action<string> sink) => line =>
    {
        try
        {
            sink(line);
        }
        catch (Exception)
        {
            // Nowhere left to report it.
        }
    };
}

namespace IoTPE.Broker.Connections;

/// <summary>
/// Slows down one client publishing faster than <see cref="BrokerOptions.MaxPublishRatePerConnection"/>:
/// its reads pause, so TCP pushes back on it alone and nobody else waits. Owned by its connection;
/// <see cref="Count"/> runs under the broker lock, <see cref="ThrottleAsync"/> in the connection's read loop.
/// </summary>
internal sealed class PublishRateLimiter
{
    private readonly int _limitPerSecond;
    private readonly TimeProvider _time;
    private int _sinceLastCheck;
    private int _inWindow;
    private long _windowStart;

    /// <param name="limitPerSecond">PUBLISH packets per second; 0 or less = unlimited.</param>
    /// <param name="time">The broker's clock.</param>
    public PublishRateLimiter(int limitPerSecond, TimeProvider time)
    {
        _limitPerSecond = limitPerSecond;
        _time = time;
        _windowStart = time.GetTimestamp();
    }

    /// <summary>Counts one PUBLISH packet.</summary>
    public void Count() => _sinceLastCheck++;

    /// <summary>Waits out the rest of the one-second window once the client has used up its rate in it.</summary>
    /// <remarks>Not an async method: the read loop calls it once per receive, and only a client over its rate waits.</remarks>
    public ValueTask ThrottleAsync(CancellationToken cancellationToken)
    {
        if (_limitPerSecond <= 0 || _sinceLastCheck == 0)
        {
            return ValueTask.CompletedTask;
        }
        TimeSpan elapsed = _time.GetElapsedTime(_windowStart);
        if (elapsed >= Window)
        {
            _windowStart = _time.GetTimestamp();
            _inWindow = _sinceLastCheck;
        }
        else
        {
            _inWindow += _sinceLastCheck;
        }
        _sinceLastCheck = 0;
        return _inWindow < _limitPerSecond ? ValueTask.CompletedTask : WaitOutWindowAsync(elapsed >= Window ? Window : Window - elapsed, cancellationToken);
    }

    private async ValueTask WaitOutWindowAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        _windowStart = _time.GetTimestamp();
        _inWindow = 0;
    }

    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);
}

using System.Net;
using IoTPE.Engine.Security;

namespace IoTPE.Engine.Tests;

public class FailedLoginLimiterTests
{
    /// <summary>A clock the test moves by hand (the clock is one of the engine's seams).</summary>
    private sealed class ManualClock : TimeProvider
    {
        public long Ticks { get; set; }

        public override long GetTimestamp() => Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }

    [Fact]
    public void The_window_passing_unblocks_the_address()
    {
        var clock = new ManualClock();
        var limiter = new FailedLoginLimiter(clock) { MaxFailures = 3, Window = TimeSpan.FromSeconds(60) };
        IPAddress address = IPAddress.Parse("192.0.2.1");
        for (int i = 0; i < 3; i++)
        {
            Assert.False(limiter.IsBlocked(address));
            limiter.RecordFailure(address);
        }
        Assert.True(limiter.IsBlocked(address));
        clock.Ticks += TimeSpan.FromSeconds(61).Ticks;
        Assert.False(limiter.IsBlocked(address));
    }
}

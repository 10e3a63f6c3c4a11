using IoTPE.Broker.Monitoring;

namespace IoTPE.Broker.Tests;

/// <summary>
/// A full collection runs once a wave of connections has gone (at least 500, down to half the
/// high-water mark), not for the ordinary coming and going of clients.
/// </summary>
public sealed class MemoryReleaseTests
{
    [Fact]
    public void A_wave_of_closed_connections_releases_memory_once_and_ordinary_churn_never_does()
    {
        var release = new MemoryRelease();
        foreach (int connections in new[] { 0, 50, 20, 80, 10, 300, 0 })
        {
            release.Observe(connections); // a small gateway's clients come and go
        }
        Assert.Equal(0, release.Releases);

        release.Observe(1500); // a flood
        release.Observe(900);  // not yet half
        Assert.Equal(0, release.Releases);
        release.Observe(600);
        Assert.Equal(1, release.Releases);
        release.Observe(400);  // the wave's tail: less than another wave below the new mark
        Assert.Equal(1, release.Releases);
    }
}

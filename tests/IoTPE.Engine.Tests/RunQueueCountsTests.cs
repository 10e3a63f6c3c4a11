using IoTPE.Broker;
using IoTPE.Engine.Scripts;
using IoTPE.Mqtt;
using IoTPE.TestSupport;

namespace IoTPE.Engine.Tests;

public class RunQueueCountsTests
{
    private static ApplicationMessage Request() => new("/acme/run/x", "{}"u8.ToArray(), QualityOfService.AtLeastOnce, false, null);

    [Fact]
    public void Requests_admitted_but_not_yet_handed_over_count_against_the_bound_once()
    {
        var counts = new RunQueueCounts(3, new ManualClock());
        ApplicationMessage[] requests = [Request(), Request(), Request()];
        foreach (ApplicationMessage request in requests)
        {
            Assert.True(counts.TryReserve("acme", request, out _, out _));
        }
        Assert.False(counts.TryReserve("acme", Request(), out int queued, out _));
        Assert.Equal(3, queued);

        // Handed over: the reservation becomes the count, not a second one.
        counts.Add("acme", requests[0]);
        Assert.False(counts.Admits("acme", out queued, out _));
        Assert.Equal(3, queued);
        counts.Remove("acme");
        Assert.True(counts.Admits("acme", out queued, out _));
        Assert.Equal(2, queued);
        Assert.True(counts.Admits("bob", out _, out _));
    }

    [Fact]
    public void A_reservation_whose_request_never_arrives_lapses()
    {
        var clock = new ManualClock();
        var counts = new RunQueueCounts(1, clock);
        Assert.True(counts.TryReserve("acme", Request(), out _, out _)); // its commit failed: never handed over
        Assert.False(counts.TryReserve("acme", Request(), out _, out _));
        clock.Advance(RunQueueCounts.ReservationLifetime);
        Assert.True(counts.TryReserve("acme", Request(), out _, out _));
    }
}

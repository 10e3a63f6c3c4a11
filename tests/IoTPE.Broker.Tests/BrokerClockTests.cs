using IoTPE.Broker.Tests.Infrastructure;
using IoTPE.TestSupport;

namespace IoTPE.Broker.Tests;

/// <summary>
/// Every timing decision of the broker reads the <see cref="TimeProvider"/> it was given: with a
/// manual clock, a CONNECT deadline and a keep-alive expire when the clock is moved, not in real
/// time. (Before, they read Environment.TickCount64, and these tests waited out their real limits.)
/// </summary>
public sealed class BrokerClockTests
{
    // CONNECT, MQTT 3.1.1, clean session, Keep Alive 10 s, client identifier "raw".
    private static readonly byte[] Connect = RawConnection.Hex("10 0F 0004 4D515454 04 02 000A 0003 726177");
    private static readonly byte[] ConnAckAccepted = RawConnection.Hex("20 02 00 00");
    private static readonly TimeSpan RealWait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_connection_without_CONNECT_is_closed_when_the_clock_passes_the_deadline()
    {
        var clock = new ManualClock();
        await using RunningBroker broker = await RunningBroker.StartAsync(o => o.ConnectTimeoutSeconds = 10, time: clock);

        using RawConnection late = await RawConnection.OpenAsync(broker.Port);
        using RawConnection silent = await RawConnection.OpenAsync(broker.Port);
        clock.AdvanceSeconds(9);
        await late.SendAsync(Connect);
        Assert.Equal(ConnAckAccepted, await late.ReadAsync(4, RealWait)); // 9 s: still within the deadline

        clock.AdvanceSeconds(3);
        (_, bool closed) = await silent.ReadUntilClosedAsync(RealWait);
        Assert.True(closed, "the connection that never sent CONNECT outlived the 10 s deadline on the broker's clock");
    }

    [Fact]
    public async Task Keep_alive_expires_at_one_and_a_half_times_on_the_brokers_clock()
    {
        var clock = new ManualClock();
        await using RunningBroker broker = await RunningBroker.StartAsync(time: clock);
        using RawConnection client = await RawConnection.OpenAsync(broker.Port);
        await client.SendAsync(Connect);
        Assert.Equal(ConnAckAccepted, await client.ReadAsync(4, RealWait));

        clock.AdvanceSeconds(14); // MQTT 3.1.1 §3.1.2.10: the server may wait 1.5 x Keep Alive = 15 s
        await client.SendAsync(RawConnection.Hex("C0 00"));
        Assert.Equal(RawConnection.Hex("D0 00"), await client.ReadAsync(2, RealWait));

        clock.AdvanceSeconds(16);
        (_, bool closed) = await client.ReadUntilClosedAsync(RealWait);
        Assert.True(closed, "the silent client outlived 1.5 x its Keep Alive on the broker's clock");
    }
}

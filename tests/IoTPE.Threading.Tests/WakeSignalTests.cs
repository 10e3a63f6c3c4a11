using System.Diagnostics;
using IoTPE.Threading;

namespace IoTPE.Threading.Tests;

/// <summary>The eventfd behind the store's writer and the script workers: no wake-up may be lost or invented.</summary>
public sealed class WakeSignalTests
{
    [Fact]
    public void A_set_before_the_wait_is_kept_and_consumed_once()
    {
        using var signal = new WakeSignal();
        signal.Set();
        signal.Set();
        Assert.True(signal.Wait(TimeSpan.Zero));
        // Both sets were one wake-up: the next wait times out.
        Assert.False(signal.Wait(TimeSpan.FromMilliseconds(20)));
    }

    [Fact]
    public void A_wait_that_nobody_sets_ends_with_its_timeout()
    {
        using var signal = new WakeSignal();
        var clock = Stopwatch.StartNew();
        Assert.False(signal.Wait(TimeSpan.FromMilliseconds(50)));
        Assert.InRange(clock.ElapsedMilliseconds, 45, 5_000);
    }

    [Fact]
    public async Task A_set_wakes_a_thread_that_sleeps_on_it()
    {
        using var signal = new WakeSignal();
        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sleeper = new Thread(() =>
        {
            signal.Wait();
            woken.SetResult();
        });
        sleeper.Start();
        await Task.Delay(50);
        Assert.False(woken.Task.IsCompleted);
        signal.Set();
        await woken.Task.WaitAsync(TimeSpan.FromSeconds(10));
        sleeper.Join();
    }

    [Fact]
    public void Hand_offs_between_two_threads_lose_no_wake_up()
    {
        // Ping-pong: each side sleeps until the other sets it; a lost set would hang the exchange.
        using var ping = new WakeSignal();
        using var pong = new WakeSignal();
        const int rounds = 2_000;
        var other = new Thread(() =>
        {
            for (int i = 0; i < rounds; i++)
            {
                ping.Wait();
                pong.Set();
            }
        });
        other.Start();
        for (int i = 0; i < rounds; i++)
        {
            ping.Set();
            Assert.True(pong.Wait(TimeSpan.FromSeconds(10)), $"round {i} was never answered");
        }
        other.Join();
    }

    [Fact]
    public void A_set_after_disposal_does_not_reach_the_descriptor_the_kernel_handed_on()
    {
        var disposed = new WakeSignal();
        disposed.Dispose();
        // The kernel gives out the lowest free descriptor: the new eventfd takes the closed one's number.
        using var fresh = new WakeSignal();
        disposed.Set();
        Assert.False(fresh.Wait(TimeSpan.Zero));
    }
}

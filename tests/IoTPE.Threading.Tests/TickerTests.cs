using System.Collections.Concurrent;
using IoTPE.Threading;

namespace IoTPE.Threading.Tests;

/// <summary>The thread that runs the broker's housekeeping and the engine's store polls together.</summary>
public sealed class TickerTests
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    // Failures of works that must not fail; checked by the tests (an assertion thrown on the ticker's thread would end the process).
    private readonly ConcurrentQueue<Exception> _unexpected = new();

    [Fact]
    public async Task Every_work_runs_at_each_tick_on_the_ticker_s_own_thread()
    {
        var ticks = new ConcurrentQueue<(string Work, int Thread, string? Name)>();
        var threeEach = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var ticker = new Ticker("test-tick", Period, _unexpected.Enqueue);
        ticker.Add(() => ticks.Enqueue(("a", Environment.CurrentManagedThreadId, Thread.CurrentThread.Name)));
        ticker.Add(() =>
        {
            ticks.Enqueue(("b", Environment.CurrentManagedThreadId, Thread.CurrentThread.Name));
            if (ticks.Count(t => t.Work == "b") >= 3)
            {
                threeEach.TrySetResult();
            }
        });

        await threeEach.Task.WaitAsync(Patience);

        (string Work, int Thread, string? Name)[] seen = [.. ticks];
        // One thread, named, that is not the test's; a and b alternate, a first: both run in each tick, in the order added.
        Assert.Single(seen.Select(t => t.Thread).Distinct());
        Assert.NotEqual(Environment.CurrentManagedThreadId, seen[0].Thread);
        Assert.All(seen, t => Assert.Equal("test-tick", t.Name));
        Assert.Equal(string.Concat(Enumerable.Repeat("ab", seen.Length / 2)), string.Concat(seen.Take(seen.Length / 2 * 2).Select(t => t.Work)));
        Assert.Empty(_unexpected);
    }

    [Fact]
    public async Task A_work_that_throws_is_reported_and_the_ticks_go_on()
    {
        var failures = new ConcurrentQueue<Exception>();
        int after = 0;
        var goesOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var ticker = new Ticker("test-tick", Period, failures.Enqueue);
        ticker.Add(() => throw new InvalidOperationException("broken tick"));
        ticker.Add(() =>
        {
            if (Interlocked.Increment(ref after) == 2)
            {
                goesOn.TrySetResult();
            }
        });

        await goesOn.Task.WaitAsync(Patience);

        Assert.True(failures.Count >= 2);
        Assert.All(failures, e => Assert.Equal("broken tick", e.Message));
    }

    [Fact]
    public async Task Remove_returns_only_once_the_removed_work_has_stopped_running()
    {
        using var running = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int runs = 0;
        using var ticker = new Ticker("test-tick", Period, _unexpected.Enqueue);
        Action work = () =>
        {
            Interlocked.Increment(ref runs);
            running.Set();
            release.Wait();
        };
        ticker.Add(work);
        Assert.True(running.Wait(Patience));

        Task removal = Task.Run(() => ticker.Remove(work));
        await Task.Delay(200);
        Assert.False(removal.IsCompleted); // the work is still in its tick
        release.Set();
        await removal.WaitAsync(Patience);

        int runsAtRemoval = Volatile.Read(ref runs);
        await Task.Delay(Period * 4);
        Assert.Equal(runsAtRemoval, Volatile.Read(ref runs));
        Assert.Empty(_unexpected);
    }

    [Fact]
    public async Task Dispose_stops_the_ticks()
    {
        int runs = 0;
        var ticker = new Ticker("test-tick", Period, _unexpected.Enqueue);
        var ticked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ticker.Add(() =>
        {
            Interlocked.Increment(ref runs);
            ticked.TrySetResult();
        });
        await ticked.Task.WaitAsync(Patience);

        ticker.Dispose();
        int runsAtDispose = Volatile.Read(ref runs);
        await Task.Delay(Period * 4);
        Assert.Equal(runsAtDispose, Volatile.Read(ref runs));
        Assert.Empty(_unexpected);
    }
}

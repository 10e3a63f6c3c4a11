using IoTPE.Threading;

namespace IoTPE.Threading.Tests;

/// <summary>
/// The message threads go onto one core while the process is quiet and back onto every core when
/// it is busy; checked on real threads' affinity, with the CPU time fed in (a fake clock and meter).
/// </summary>
public sealed class CorePackingTests
{
    private TimeSpan _cpu;
    private long _waited;
    private long _now;
    private readonly List<string> _failures = [];

    [Fact]
    public void Quiet_ticks_pack_the_joined_threads_onto_one_core_and_a_busy_tick_spreads_them()
    {
        int[] allowed = CorePacking.AllowedCores()!;
        Assert.True(allowed.Length >= 2, "this test needs a process allowed on two cores or more");
        using var member = new MemberThread();
        using CorePacking packing = Start(allowed);

        Tick(cores: 0.2);
        Tick(cores: 0.2);
        Assert.False(packing.IsPacked); // two quiet ticks: not yet
        Assert.Equal(allowed, CorePacking.CoresOf(member.Tid));

        Tick(cores: 0.2);
        Assert.True(packing.IsPacked);
        Assert.Equal([allowed.Max()], CorePacking.CoresOf(member.Tid)!);

        Tick(cores: 0.6); // between the thresholds: stays as it is
        Assert.True(packing.IsPacked);

        Tick(cores: 0.9);
        Assert.False(packing.IsPacked);
        Assert.Equal(allowed, CorePacking.CoresOf(member.Tid));
        Assert.Empty(_failures);
    }

    [Fact]
    public void A_middle_tick_restarts_the_quiet_count_and_a_thread_joining_while_packed_is_packed_at_once()
    {
        int[] allowed = CorePacking.AllowedCores()!;
        Assert.True(allowed.Length >= 2, "this test needs a process allowed on two cores or more");
        using CorePacking packing = Start(allowed);

        Tick(cores: 0.1);
        Tick(cores: 0.1);
        Tick(cores: 0.6);
        Tick(cores: 0.1);
        Tick(cores: 0.1);
        Assert.False(packing.IsPacked); // the quiet ticks since the middle one: two
        Tick(cores: 0.1);
        Assert.True(packing.IsPacked);

        using var late = new MemberThread();
        Assert.Equal([allowed.Max()], CorePacking.CoresOf(late.Tid)!);
        Assert.Empty(_failures);
    }

    [Fact]
    public void Stopping_the_policy_spreads_the_threads_and_a_thread_that_left_is_not_touched()
    {
        int[] allowed = CorePacking.AllowedCores()!;
        Assert.True(allowed.Length >= 2, "this test needs a process allowed on two cores or more");
        using var member = new MemberThread();
        var leaver = new MemberThread();
        leaver.Leave();
        CorePacking packing = Start(allowed);
        for (int i = 0; i < CorePacking.QuietTicksToPack; i++)
        {
            Tick(cores: 0);
        }
        Assert.Equal([allowed.Max()], CorePacking.CoresOf(member.Tid)!);
        Assert.Equal(allowed, CorePacking.CoresOf(leaver.Tid)); // left before the packing
        leaver.Dispose();

        packing.Dispose();

        Assert.Equal(allowed, CorePacking.CoresOf(member.Tid));
        using CorePacking again = Start(allowed); // one policy at a time: the first one is gone
        Assert.Empty(_failures);
    }

    /// <summary>
    /// The demand is CPU time plus the joined threads' waiting for a core: packed threads that run half
    /// of each second and wait the other half (a saturated broker sharing its core with the load) are
    /// spread, though the process's CPU alone (0.5) would keep them packed.
    /// </summary>
    [Fact]
    public void Packed_threads_that_run_and_wait_for_more_than_one_core_can_give_are_spread()
    {
        int[] allowed = CorePacking.AllowedCores()!;
        Assert.True(allowed.Length >= 2, "this test needs a process allowed on two cores or more");
        using var member = new MemberThread();
        using CorePacking packing = Start(allowed);
        Tick(cores: 0.2, waiting: 0.1);
        Tick(cores: 0.2, waiting: 0.1);
        Tick(cores: 0.2, waiting: 0.1);
        Assert.True(packing.IsPacked);

        Tick(cores: 0.3, waiting: 0.3);
        Assert.True(packing.IsPacked); // waiting for each other in proportion to the work: one core still does

        Tick(cores: 0.5, waiting: 0.5);
        Assert.False(packing.IsPacked);
        Assert.Equal(allowed, CorePacking.CoresOf(member.Tid));

        Tick(cores: 0.4, waiting: 0.05);
        Tick(cores: 0.4, waiting: 0.05);
        Tick(cores: 0.4, waiting: 0.05);
        Assert.True(packing.IsPacked); // a demand of 0.45: quiet again
        Assert.Empty(_failures);
    }

    /// <summary>
    /// A burst while packed is spread before the next tick: enough socket events make the policy look
    /// early, over no less than <see cref="CorePacking.EarlyLookMilliseconds"/>.
    /// </summary>
    [Fact]
    public void Enough_socket_events_while_packed_make_a_busy_burst_spread_before_the_next_tick()
    {
        int[] allowed = CorePacking.AllowedCores()!;
        Assert.True(allowed.Length >= 2, "this test needs a process allowed on two cores or more");
        using var member = new MemberThread();
        using CorePacking packing = Start(allowed);
        PackWithQuietTicks(packing);

        Pass(milliseconds: 300, cores: 0.2);
        CorePacking.CountEvents(CorePacking.EventsToLookEarly);
        Assert.True(packing.IsPacked); // looked: quiet

        Pass(milliseconds: 300, cores: 1.0);
        CorePacking.CountEvents(CorePacking.EventsToLookEarly - 1);
        Assert.True(packing.IsPacked); // too few events since that look: no look
        CorePacking.CountEvents(1);
        Assert.False(packing.IsPacked); // a whole core for 300 ms: spread, before any tick
        Assert.Equal(allowed, CorePacking.CoresOf(member.Tid));

        CorePacking.CountEvents(CorePacking.EventsToLookEarly * 2);
        Assert.False(packing.IsPacked); // spread: nothing to look at

        PackWithQuietTicks(packing);
        Pass(milliseconds: CorePacking.EarlyLookMilliseconds / 2, cores: 1.0);
        CorePacking.CountEvents(CorePacking.EventsToLookEarly);
        Assert.True(packing.IsPacked); // 50 ms since the tick: too short to measure
        Pass(milliseconds: CorePacking.EarlyLookMilliseconds, cores: 1.0);
        CorePacking.CountEvents(1);
        Assert.False(packing.IsPacked); // the events counted on: 150 ms of a whole core
        Assert.Empty(_failures);
    }

    /// <summary>
    /// The waiting read from the joined threads' schedstat is real: more spinning joined threads than
    /// cores wait for one, by about the time they were outnumbered.
    /// </summary>
    [Fact]
    public void The_joined_threads_waiting_for_a_core_is_read_from_the_kernel()
    {
        int[] allowed = CorePacking.AllowedCores()!;
        long before = CorePacking.WaitedNanoseconds();
        using var stop = new ManualResetEventSlim();
        using var joined = new CountdownEvent(allowed.Length + 1);
        Thread[] spinners = [.. Enumerable.Range(0, allowed.Length + 1).Select(_ => new Thread(() =>
        {
            CorePacking.JoinCurrentThread();
            joined.Signal();
            while (!stop.IsSet)
            {
                Thread.SpinWait(1000);
            }
            CorePacking.LeaveCurrentThread();
        }) { IsBackground = true })];
        foreach (Thread spinner in spinners)
        {
            spinner.Start();
        }
        joined.Wait();
        Thread.Sleep(300);
        long waited = CorePacking.WaitedNanoseconds() - before;
        stop.Set();
        foreach (Thread spinner in spinners)
        {
            spinner.Join();
        }

        // One spinner more than cores for 300 ms: together they waited ~300 ms; a tenth of it is certain.
        Assert.True(waited > 30_000_000, $"waited {waited / 1e6:F1} ms");
    }

    /// <summary>A core the kernel will not give (one this machine lacks): the policy stops, says so once, and the threads keep every core.</summary>
    [Fact]
    public void A_refused_affinity_change_stops_the_policy_and_leaves_the_threads_on_every_core()
    {
        int[] allowed = CorePacking.AllowedCores()!;
        using var member = new MemberThread();
        CorePacking packing = Start([.. allowed, 1023]); // 1023 becomes the home core: sched_setaffinity fails with EINVAL
        for (int i = 0; i < CorePacking.QuietTicksToPack + 2; i++)
        {
            Tick(cores: 0);
        }

        Assert.False(packing.IsPacked);
        Assert.Null(CorePacking.Active);
        Assert.Equal(allowed, CorePacking.CoresOf(member.Tid));
        string failure = Assert.Single(_failures);
        Assert.Contains("sched_setaffinity failed (errno 22)", failure, StringComparison.Ordinal);
        packing.Dispose();
    }

    private CorePacking Start(int[] allowed) =>
        CorePacking.Activate(new CorePacking(allowed, () => _cpu, () => _waited, () => _now, _failures.Add, ticker: null));

    // One second passes, in which the process used the given share of a core and the joined threads
    // waited for a core the given share of it; then the policy decides.
    private void Tick(double cores, double waiting = 0)
    {
        _now += 1000;
        _cpu += TimeSpan.FromMilliseconds(1000 * cores);
        _waited += (long)(1e9 * waiting);
        CorePacking.Active?.Sample();
    }

    private void PackWithQuietTicks(CorePacking packing)
    {
        for (int i = 0; i < CorePacking.QuietTicksToPack; i++)
        {
            Tick(cores: 0.1);
        }
        Assert.True(packing.IsPacked);
    }

    // Time passes between ticks, with the given share of a core used.
    private void Pass(int milliseconds, double cores)
    {
        _now += milliseconds;
        _cpu += TimeSpan.FromMilliseconds(milliseconds * cores);
    }

    /// <summary>A real thread that joins the packed threads and waits until disposed.</summary>
    private sealed class MemberThread : IDisposable
    {
        private readonly ManualResetEventSlim _joined = new();
        private readonly ManualResetEventSlim _leave = new();
        private readonly ManualResetEventSlim _left = new();
        private readonly ManualResetEventSlim _end = new();
        private readonly Thread _thread;

        public MemberThread()
        {
            _thread = new Thread(() =>
            {
                CorePacking.JoinCurrentThread();
                Tid = CorePacking.GetThreadId();
                _joined.Set();
                _leave.Wait();
                CorePacking.LeaveCurrentThread();
                _left.Set();
                _end.Wait();
            }) { IsBackground = true };
            _thread.Start();
            _joined.Wait();
        }

        public int Tid { get; private set; }

        public void Leave()
        {
            _leave.Set();
            _left.Wait();
        }

        public void Dispose()
        {
            _leave.Set();
            _end.Set();
            _thread.Join();
        }
    }
}

using System.Buffers.Text;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace IoTPE.Threading;

/// <summary>
/// Keeps the threads a message passes through (the broker's socket loops, the script workers) on one
/// core while the process uses little CPU, and lets them spread over every core it may use as soon
/// as it uses more.
/// </summary>
/// <remarks>
/// <para>
/// A run request is received on a socket loop and run on a script worker. Left to the kernel, the
/// worker is woken on whichever core is idle, and the loop follows the traffic's wake-ups: on a
/// 2-core VM the loop changed cores 4,082 times in 5,000 runs (~1 CPU migration per run; Mosquitto,
/// one thread, 0.01), and every such wake-up of an idle core is paid in the kernel and the
/// hypervisor. Confined to one core the same process used 25–37 % less CPU per run at 1,000 runs/s
/// (docs/benchmarks.md). The same confinement would cap a busy gateway at one core, so it lasts only
/// while the demand stays under <see cref="PackBelow"/> of a core (after <see cref="QuietTicksToPack"/>
/// ticks in a row) and ends at the first tick above <see cref="SpreadAbove"/>. The demand of a tick
/// is the process's CPU time plus the time the joined threads spent waiting for a core: CPU time
/// alone does not show a packed thread held back by others on its core (a broker at saturation,
/// packed with its load generator, ran half of each second and waited the other half, and stayed
/// packed at 20 % less throughput). Packed threads also wait for each other, about as long as they
/// run (0.04 / 0.06 to 0.25 / 0.29 s per second at 100 to 3,000 runs/s), which the thresholds allow.
/// </para>
/// <para>
/// A burst that starts while the threads are packed would run at one core's pace until the next tick,
/// up to a second: a 200,000-message QoS 1 burst from quiet lost a sixth of its throughput and its p99
/// went from 10 to 238 ms. So the socket loops count their events (<see cref="CountEvents"/>), and after
/// <see cref="EventsToLookEarly"/> of them since the last decision the policy looks at once, over no
/// less than <see cref="EarlyLookMilliseconds"/>; such a look only spreads. While spread, counting reads the
/// active policy's packed flag and nothing else.
/// </para>
/// <para>
/// Threads join from the libraries that start them (<see cref="JoinCurrentThread"/>); the policy runs
/// only once the host starts it (<see cref="Start"/>), on Linux, when the process may use two cores
/// or more. The core chosen is the highest the process may use: on a Raspberry Pi core 0 takes the
/// device interrupts by default.
/// </para>
/// </remarks>
public sealed partial class CorePacking : IDisposable
{
    /// <summary>Below this demand (share of one core), sustained, the joined threads are packed onto one core.</summary>
    public const double PackBelow = 0.5;

    /// <summary>Above this demand (share of one core) the joined threads may use every core again.</summary>
    public const double SpreadAbove = 0.75;

    /// <summary>Consecutive quiet ticks before packing: a pause in a busy stream does not pack.</summary>
    public const int QuietTicksToPack = 3;

    /// <summary>
    /// Socket events handled while packed after which the demand is looked at before the next tick (at
    /// 1,000 runs/s the loops see about 2,000 events a second).
    /// </summary>
    public const int EventsToLookEarly = 2048;

    /// <summary>The shortest interval an early look measures: a shorter one says more about the moment than the load.</summary>
    public const int EarlyLookMilliseconds = 100;

    // Affinity is a property of each thread, so the joined threads are the process's, whoever runs the policy.
    private static readonly Lock s_gate = new();
    // Each joined thread's id, with its schedstat kept open: re-read with pread, it costs no open per tick.
    private static readonly Dictionary<int, SafeFileHandle?> s_threads = [];
    private static CorePacking? s_active;
    private static int s_events;

    private readonly int[] _allowed;
    private readonly int _home;
    private readonly Func<TimeSpan> _cpuTime;
    private readonly Func<long> _waitedNanoseconds;
    private readonly Func<long> _elapsedMilliseconds;
    private readonly Action<string> _failed;
    private readonly Ticker? _ticker;
    private readonly Action? _tick;
    private readonly Lock _sampling = new(); // the ticker and the socket loops' early looks
    private TimeSpan _lastCpu;
    private long _lastWaited;
    private long _lastSample;
    private int _quietTicks;
    private volatile bool _packed; // written under s_gate, read by CountEvents without it
    private bool _disposed;

    /// <param name="allowed">The cores the threads may use when spread.</param>
    /// <param name="cpuTime">The process's CPU time so far.</param>
    /// <param name="waitedNanoseconds">How long the joined threads have waited for a core so far, together.</param>
    /// <param name="elapsedMilliseconds">A monotonic clock.</param>
    /// <param name="failed">Told when the kernel refuses an affinity change.</param>
    /// <param name="ticker">Runs <see cref="Sample"/>; null: the caller does.</param>
    internal CorePacking(int[] allowed, Func<TimeSpan> cpuTime, Func<long> waitedNanoseconds, Func<long> elapsedMilliseconds, Action<string> failed, Ticker? ticker)
    {
        _allowed = allowed;
        _home = allowed.Max();
        _cpuTime = cpuTime;
        _waitedNanoseconds = waitedNanoseconds;
        _elapsedMilliseconds = elapsedMilliseconds;
        _failed = failed;
        _lastCpu = cpuTime();
        _lastWaited = waitedNanoseconds();
        _lastSample = elapsedMilliseconds();
        if (ticker is not null)
        {
            _ticker = ticker;
            _tick = () => Sample();
            ticker.Add(_tick);
        }
    }

    /// <summary>Whether the joined threads are on one core now.</summary>
    public bool IsPacked
    {
        get
        {
            lock (s_gate)
            {
                return _packed;
            }
        }
    }

    /// <summary>The running policy, if any.</summary>
    internal static CorePacking? Active
    {
        get
        {
            lock (s_gate)
            {
                return s_active;
            }
        }
    }

    /// <summary>The core the joined threads are packed onto.</summary>
    public int HomeCore => _home;

    /// <summary>
    /// Starts the policy on <paramref name="ticker"/> (one decision per tick), or returns
    /// <see langword="null"/> when there is nothing to decide: not Linux, or one core allowed.
    /// </summary>
    /// <param name="ticker">Runs the decision; its period is the measuring interval.</param>
    /// <param name="failed">Told once when the kernel refuses an affinity change; the policy then stops.</param>
    /// <exception cref="InvalidOperationException">A policy is already running.</exception>
    public static CorePacking? Start(Ticker ticker, Action<string> failed)
    {
        ArgumentNullException.ThrowIfNull(ticker);
        ArgumentNullException.ThrowIfNull(failed);
        if (!OperatingSystem.IsLinux() || AllowedCores() is not { Length: >= 2 } allowed)
        {
            return null;
        }
        return Activate(new CorePacking(allowed, static () => Environment.CpuUsage.TotalTime, WaitedNanoseconds, static () => Environment.TickCount64, failed, ticker));
    }

    internal static CorePacking Activate(CorePacking packing)
    {
        lock (s_gate)
        {
            if (s_active is not null)
            {
                throw new InvalidOperationException("Core packing is already running in this process.");
            }
            s_active = packing;
            s_events = 0;
        }
        return packing;
    }

    /// <summary>
    /// Makes the calling thread one of those packed together. Call it first thing on a thread that
    /// handles messages, and <see cref="LeaveCurrentThread"/> before it ends.
    /// </summary>
    public static void JoinCurrentThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        int tid = GetThreadId();
        SafeFileHandle? schedstat = null;
        try
        {
            schedstat = File.OpenHandle($"/proc/self/task/{tid}/schedstat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A kernel without schedstat, or a /proc that hides it: this thread counts as never waiting.
        }
        lock (s_gate)
        {
            if (!s_threads.TryAdd(tid, schedstat))
            {
                schedstat?.Dispose(); // joined already
            }
            if (s_active is { _packed: true } active)
            {
                active.Apply(tid, [active._home]);
            }
        }
    }

    /// <summary>Ends the calling thread's membership (before it ends: its thread id may be reused).</summary>
    public static void LeaveCurrentThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        int tid = GetThreadId();
        lock (s_gate)
        {
            if (s_threads.Remove(tid, out SafeFileHandle? schedstat))
            {
                schedstat?.Dispose();
            }
        }
    }

    /// <summary>
    /// Counts socket events the calling loop has just handled; enough of them while packed make the
    /// policy look at the demand before its next tick (on the calling thread).
    /// </summary>
    public static void CountEvents(int events)
    {
        if (Volatile.Read(ref s_active) is { _packed: true } active && Interlocked.Add(ref s_events, events) >= EventsToLookEarly)
        {
            active.Sample(early: true);
        }
    }

    /// <summary>
    /// One decision from the demand since the last one: packs, spreads or leaves the joined threads as
    /// they are; an <paramref name="early"/> look, between ticks, only spreads.
    /// </summary>
    internal void Sample(bool early = false)
    {
        if (early)
        {
            // Another thread's look, or one too recent to measure: the events keep counting and the next one looks.
            if (!_sampling.TryEnter())
            {
                return;
            }
        }
        else
        {
            _sampling.Enter();
        }
        try
        {
            long now = _elapsedMilliseconds();
            long interval = now - _lastSample;
            if (interval <= 0 || (early && interval < EarlyLookMilliseconds))
            {
                return;
            }
            TimeSpan cpu = _cpuTime();
            long waited = _waitedNanoseconds();
            // Running, or ready to run and waiting for a core: what the process asked of the cores.
            double demand = ((cpu - _lastCpu).TotalMilliseconds / interval) + (Math.Max(waited - _lastWaited, 0) / (interval * 1e6));
            _lastCpu = cpu;
            _lastWaited = waited;
            _lastSample = now;
            Volatile.Write(ref s_events, 0);
            Decide(demand, early);
        }
        finally
        {
            _sampling.Exit();
        }
    }

    private void Decide(double demand, bool early)
    {
        lock (s_gate)
        {
            if (_disposed)
            {
                return;
            }
            if (demand > SpreadAbove)
            {
                _quietTicks = 0;
                if (_packed)
                {
                    SetAll(packed: false);
                }
            }
            else if (early)
            {
                // Between ticks, only a burst counts: quiet ticks are whole ticks.
            }
            else if (demand < PackBelow)
            {
                if (++_quietTicks >= QuietTicksToPack && !_packed)
                {
                    SetAll(packed: true);
                }
            }
            else
            {
                _quietTicks = 0;
            }
        }
    }

    /// <summary>Stops the policy and lets the joined threads use every allowed core again.</summary>
    public void Dispose()
    {
        if (_tick is not null)
        {
            _ticker!.Remove(_tick);
        }
        lock (s_gate)
        {
            if (_disposed)
            {
                return;
            }
            if (_packed)
            {
                SetAll(packed: false);
            }
            _disposed = true;
            if (ReferenceEquals(s_active, this))
            {
                s_active = null;
            }
        }
    }

    // Under s_gate.
    private void SetAll(bool packed)
    {
        _packed = packed;
        int[] cores = packed ? [_home] : _allowed;
        foreach (int tid in s_threads.Keys)
        {
            if (!Apply(tid, cores))
            {
                return;
            }
        }
    }

    // Under s_gate. A thread that ended without leaving is skipped (its id is checked to be this
    // process's first). A refusal by the kernel (e.g. a container without the right) ends the policy,
    // with every joined thread given back every core as far as the kernel lets it.
    private bool Apply(int tid, int[] cores)
    {
        if (!Directory.Exists($"/proc/self/task/{tid}"))
        {
            return true;
        }
        if (SetAffinity(tid, cores) is int errno and not 0)
        {
            _disposed = true;
            _packed = false;
            s_active = null;
            foreach (int joined in s_threads.Keys)
            {
                _ = SetAffinity(joined, _allowed);
            }
            _failed($"core packing stopped: sched_setaffinity failed (errno {errno})");
            return false;
        }
        return true;
    }

    // The joined threads' time waiting on a run queue (the second field of their schedstat), in ns.
    // Read into a stack buffer from the handles opened at joining: File.ReadAllText (open, buffers,
    // GC) was a third of the ticker thread's CPU.
    internal static long WaitedNanoseconds()
    {
        long total = 0;
        Span<byte> text = stackalloc byte[96];
        lock (s_gate)
        {
            foreach (SafeFileHandle? schedstat in s_threads.Values)
            {
                if (schedstat is null)
                {
                    continue;
                }
                try
                {
                    // "<ns on a core> <ns waiting for one> <timeslices>\n", produced afresh by each read at offset 0.
                    ReadOnlySpan<byte> fields = text[..RandomAccess.Read(schedstat, text, 0)];
                    int first = fields.IndexOf((byte)' ');
                    if (first >= 0 && Utf8Parser.TryParse(fields[(first + 1)..], out long waited, out _))
                    {
                        total += waited;
                    }
                }
                catch (IOException)
                {
                    // Ended without leaving (ESRCH): counts as not waiting.
                }
            }
        }
        return total;
    }

    /// <summary>The cores the calling thread may run on (the process's, when called from any of its threads), or null.</summary>
    internal static int[]? AllowedCores() => CoresOf(0);

    /// <summary>The cores thread <paramref name="tid"/> may run on, or null.</summary>
    internal static unsafe int[]? CoresOf(int tid)
    {
        ulong* mask = stackalloc ulong[MaskWords];
        if (SchedGetAffinity(tid, MaskWords * sizeof(ulong), mask) < 0)
        {
            return null;
        }
        var cores = new List<int>();
        for (int core = 0; core < MaskWords * 64; core++)
        {
            if ((mask[core / 64] & (1UL << (core % 64))) != 0)
            {
                cores.Add(core);
            }
        }
        return [.. cores];
    }

    /// <summary>The kernel's id of the calling thread.</summary>
    internal static int GetThreadId() => GetTid();

    private static unsafe int SetAffinity(int tid, int[] cores)
    {
        ulong* mask = stackalloc ulong[MaskWords];
        for (int i = 0; i < MaskWords; i++)
        {
            mask[i] = 0;
        }
        foreach (int core in cores)
        {
            mask[core / 64] |= 1UL << (core % 64);
        }
        return SchedSetAffinity(tid, MaskWords * sizeof(ulong), mask) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    // 1,024 cores, the kernel's default CONFIG_NR_CPUS bound for the glibc cpu_set_t.
    private const int MaskWords = 16;

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static unsafe partial int SchedSetAffinity(int pid, nint cpusetsize, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static unsafe partial int SchedGetAffinity(int pid, nint cpusetsize, ulong* mask);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}

using System.Diagnostics;
using System.Runtime.InteropServices;

namespace IoTPE.Threading;

/// <summary>
/// Wakes one thread that sleeps on it: a Linux <c>eventfd</c>. A <see cref="Set"/> made before the
/// <see cref="Wait(TimeSpan)"/> is kept, so the waker may signal after it has released every lock
/// the sleeper will need — which is the point.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Monitor.Pulse(object)"/> has to be called inside the lock the sleeper then takes back,
/// and under NativeAOT the wake-up itself goes through the runtime's wait subsystem, which holds a
/// process-wide lock while it signals. The woken thread usually runs at once on the waker's core,
/// finds a lock still held by the thread it preempted, spins, yields and sleeps again: three or four
/// context switches per hand-off where one would do (perf, issue 14: the store's writer slept 5.3
/// times per script run at 100 runs/s, 3 of them its fsync). Here the waker holds no lock the
/// sleeper needs while it writes to the eventfd, and the sleeper wakes in a <c>poll</c> with no lock
/// to take back.
/// </para>
/// <para>Several <see cref="Set"/> calls before a wait wake it once. Meant for one sleeper at a time.</para>
/// </remarks>
public sealed partial class WakeSignal : IDisposable
{
    private const int EFD_CLOEXEC = 0x80000;
    private const int EFD_NONBLOCK = 0x800;
    private const short POLLIN = 0x1;
    private const int EINTR = 4;

    private readonly int _fd;
    // Set and Dispose only: a set racing with the disposal must not write to a closed descriptor,
    // whose number the kernel may already have given to another file.
    private readonly Lock _descriptor = new();
    private bool _disposed;

    /// <summary>Creates the signal, not set.</summary>
    /// <exception cref="IOException">The kernel refused an eventfd (e.g. out of file descriptors).</exception>
    public WakeSignal()
    {
        _fd = EventFd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (_fd < 0)
        {
            throw new IOException($"eventfd failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>
    /// The eventfd, for a thread that waits for this signal among other descriptors (an epoll set):
    /// readable while set; <see cref="Wait(TimeSpan)"/> with <see cref="TimeSpan.Zero"/> clears it.
    /// </summary>
    public int FileDescriptor => _fd;

    /// <summary>Wakes the sleeper, or the next wait if nobody sleeps yet. Never blocks; does nothing once disposed.</summary>
    public unsafe void Set()
    {
        ulong one = 1;
        lock (_descriptor)
        {
            // The counter only saturates after 2^64 - 2 unconsumed sets; EAGAIN would mean it is set anyway.
            while (!_disposed && Write(_fd, &one, sizeof(ulong)) < 0 && Marshal.GetLastPInvokeError() == EINTR)
            {
            }
        }
    }

    /// <summary>Sleeps until set (and clears it).</summary>
    public void Wait() => Wait(Timeout.InfiniteTimeSpan);

    /// <summary>
    /// Sleeps until set or until <paramref name="timeout"/> passed; true when it was set (and is now
    /// cleared), false only when the time is up. Never throws.
    /// </summary>
    public unsafe bool Wait(TimeSpan timeout)
    {
        // Stopwatch, not Environment.TickCount64: that clock is the kernel's coarse one (4 ms steps at
        // HZ=250), too coarse for the store writer's millisecond waits.
        long deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue
            : Stopwatch.GetTimestamp() + (long)Math.Min(timeout.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 2);
        while (true)
        {
            ulong value;
            if (Read(_fd, &value, sizeof(ulong)) == sizeof(ulong))
            {
                return true;
            }
            int wait = -1;
            if (deadline != long.MaxValue)
            {
                long remaining = deadline - Stopwatch.GetTimestamp();
                if (remaining <= 0)
                {
                    return false;
                }
                // poll counts whole milliseconds: round up, so that a short wait sleeps instead of spinning.
                wait = (int)Math.Min(Math.Ceiling(remaining * 1000.0 / Stopwatch.Frequency), int.MaxValue);
            }
            var poll = new PollFd { Fd = _fd, Events = POLLIN };
            // A signal (the runtime's own, for a garbage collection) interrupts poll with EINTR: the loop
            // waits again. Nothing else should fail here; if the kernel does (ENOMEM), the loop retries
            // after a pause rather than throw on a thread that has nobody to catch it (the store's writer).
            if (Poll(&poll, 1, wait) < 0 && Marshal.GetLastPInvokeError() != EINTR)
            {
                Thread.Sleep(1);
            }
        }
    }

    /// <summary>Closes the eventfd. No thread may be waiting on it; later sets do nothing.</summary>
    public void Dispose()
    {
        lock (_descriptor)
        {
            if (!_disposed)
            {
                _disposed = true;
                _ = Close(_fd);
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc.so.6", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initialValue, int flags);

    [LibraryImport("libc.so.6", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(int fd, ulong* buffer, nuint count);

    [LibraryImport("libc.so.6", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint Write(int fd, ulong* buffer, nuint count);

    [LibraryImport("libc.so.6", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc.so.6", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}

using IoTPE.Broker.Storage;
using IoTPE.TestSupport;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Tests;

/// <summary>
/// The free-space watch itself: its levels, that it reads the file system rarely (per interval or
/// per MiB written, not per check), that each change of level is logged once, and that 0 disables it.
/// </summary>
public sealed class DiskReserveTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void The_level_follows_the_free_space_with_the_floor_at_an_eighth_of_the_reserve()
    {
        var disk = new FillingDisk(100 * MiB);
        var log = new LineLog();
        var reserve = new DiskReserve(64 * MiB, disk, log, TimeSpan.Zero);
        Assert.Equal(8 * MiB, reserve.FloorBytes);
        Assert.Equal(DiskSpaceLevel.Ample, reserve.Level);

        disk.Free = 63 * MiB;
        Assert.Equal(DiskSpaceLevel.Reserve, reserve.Level);
        Assert.True(reserve.RefusesAccountData);
        disk.Free = 8 * MiB - 1;
        Assert.Equal(DiskSpaceLevel.Floor, reserve.Level);
        disk.Free = 64 * MiB;
        Assert.Equal(DiskSpaceLevel.Ample, reserve.Level);
        Assert.False(reserve.RefusesAccountData);

        // One line per change, none for the checks that found the same level.
        Assert.Equal(3, reserve.Transitions);
        Assert.Collection(log.Lines,
            l => Assert.StartsWith("Warning Disk reserve reached: 66060288 bytes free", l, StringComparison.Ordinal),
            l => Assert.StartsWith("Error Disk floor reached: 8388607 bytes free", l, StringComparison.Ordinal),
            l => Assert.StartsWith("Information Disk reserve left: 67108864 bytes free", l, StringComparison.Ordinal));
    }

    [Fact]
    public void The_file_system_is_read_again_after_the_interval_or_after_a_mebibyte_written_not_per_check()
    {
        var clock = new ManualClock();
        var disk = new FillingDisk(100 * MiB);
        var reserve = new DiskReserve(64 * MiB, disk, refreshInterval: TimeSpan.FromMilliseconds(250), timeProvider: clock);
        int readsAtStart = disk.Reads;
        disk.Free = 10 * MiB;
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(DiskSpaceLevel.Ample, reserve.Level);
            reserve.NoteWritten(1000); // 1,000,000 bytes in all: less than a MiB
        }
        Assert.Equal(readsAtStart, disk.Reads);

        reserve.NoteWritten(MiB);
        Assert.Equal(DiskSpaceLevel.Reserve, reserve.Level);
        Assert.Equal(readsAtStart + 1, disk.Reads);

        disk.Free = 100 * MiB;
        Assert.Equal(DiskSpaceLevel.Reserve, reserve.Level);
        clock.Advance(TimeSpan.FromMilliseconds(250));
        Assert.Equal(DiskSpaceLevel.Ample, reserve.Level);
        Assert.Equal(readsAtStart + 2, disk.Reads);
    }

    [Fact]
    public void A_reserve_of_0_never_reads_the_file_system_and_never_refuses()
    {
        var disk = new FillingDisk(0);
        var reserve = new DiskReserve(0, disk, refreshInterval: TimeSpan.Zero);
        Assert.Equal(DiskSpaceLevel.Ample, reserve.Level);
        Assert.Null(reserve.AccountWriteRefusal());
        Assert.Equal(0, disk.Reads);
    }

    [Fact]
    public void A_file_system_that_cannot_be_asked_keeps_the_previous_level()
    {
        var disk = new FillingDisk(10 * MiB);
        var reserve = new DiskReserve(64 * MiB, disk, refreshInterval: TimeSpan.Zero);
        Assert.Equal(DiskSpaceLevel.Reserve, reserve.Level);
        disk.Fails = true;
        Assert.Equal(DiskSpaceLevel.Reserve, reserve.Level);
        Assert.StartsWith("disk reserve reached: 10485760 bytes free", reserve.AccountWriteRefusal(), StringComparison.Ordinal);
        Assert.Equal(1, reserve.Refusals);
    }

    [Fact]
    public void The_real_probe_reads_the_file_system_of_the_folder()
    {
        using var folder = new TempFolder();
        long reusable = 12345;
        var probe = new DataFolderFreeSpace(folder.Path, () => reusable);
        long expected = new DriveInfo(folder.Path).AvailableFreeSpace + reusable;
        Assert.InRange(probe.AvailableBytes(), expected - 64 * MiB, expected + 64 * MiB);
    }

    /// <summary>A disk whose free space the test sets; it counts how often it is asked.</summary>
    internal sealed class FillingDisk(long free) : IFreeSpaceProbe
    {
        private long _free = free;

        public long Free
        {
            get => Interlocked.Read(ref _free);
            set => Interlocked.Exchange(ref _free, value);
        }

        public volatile bool Fails;

        public int Reads;

        public long AvailableBytes()
        {
            Interlocked.Increment(ref Reads);
            return Fails ? throw new IOException("statvfs failed") : Free;
        }
    }

    /// <summary>Keeps each log line as "Level message".</summary>
    internal sealed class LineLog : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add(logLevel + " " + formatter(state, exception));
            }
        }
    }
}

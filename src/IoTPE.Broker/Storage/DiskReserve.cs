using IoTPE.Broker.Monitoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPE.Broker.Storage;

/// <summary>
/// Keeps the data folder's file system from filling up: below <see cref="ReserveBytes"/> of free
/// space new data from accounts is refused, so that what keeps the gateway manageable (grants,
/// script management, run requests, acknowledgements, deletes) still has room; below
/// <see cref="FloorBytes"/> every new write is refused and only deletes go on. One instance serves
/// the broker and the engine, since their databases share the file system.
/// </summary>
/// <remarks>
/// <para>
/// Free space is read through an <see cref="IFreeSpaceProbe"/> (one <c>statvfs</c>), at most once
/// per refresh interval (250 ms by default) or sooner once 1 MiB was noted as written since the last
/// reading, never once per publish. Between readings the reserve absorbs what is written: a reserve
/// far larger than the bytes written in a refresh interval or a group-commit batch is what makes
/// the checks sufficient.
/// </para>
/// <para>Thread-safe: the broker asks under its lock, script workers from their threads.</para>
/// </remarks>
public sealed class DiskReserve
{
    /// <summary>Written bytes after which the next check reads the free space again.</summary>
    public const long RefreshAfterBytes = 1024 * 1024;

    /// <summary>The default longest time between two readings.</summary>
    public static readonly TimeSpan DefaultRefreshInterval = TimeSpan.FromMilliseconds(250);

    private readonly IFreeSpaceProbe _probe;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly long _refreshIntervalTicks;
    private readonly Lock _readLock = new();
    private long _lastReadTimestamp;
    private long _writtenSinceRead;
    private long _availableBytes = long.MaxValue;
    private int _level;
    private long _refusals;
    private long _transitions;

    /// <summary>Creates the watch and reads the free space once.</summary>
    /// <param name="reserveBytes">Free bytes below which accounts' new data is refused; 0 disables the watch.</param>
    /// <param name="probe">Reads the free space; null: the file system of the current folder.</param>
    /// <param name="logger">Where entering and leaving the reserve is logged.</param>
    /// <param name="refreshInterval">Longest time between readings; default 250 ms. <see cref="TimeSpan.Zero"/> reads on every check (tests).</param>
    /// <param name="timeProvider">The clock of the refresh interval.</param>
    public DiskReserve(long reserveBytes, IFreeSpaceProbe? probe = null, ILogger? logger = null, TimeSpan? refreshInterval = null, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(reserveBytes);
        ReserveBytes = reserveBytes;
        _probe = probe ?? new DataFolderFreeSpace(".");
        _log = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _refreshIntervalTicks = (long)((refreshInterval ?? DefaultRefreshInterval).TotalSeconds * _time.TimestampFrequency);
        if (IsEnabled)
        {
            Refresh();
        }
    }

    /// <summary>Free bytes below which new data from accounts is refused; 0 when disabled.</summary>
    public long ReserveBytes { get; }

    /// <summary>
    /// Free bytes below which every new write is refused: an eighth of the reserve, what the control
    /// plane may use up of it before it stops as well.
    /// </summary>
    public long FloorBytes => ReserveBytes / 8;

    /// <summary>Whether the watch is on (a reserve above 0).</summary>
    public bool IsEnabled => ReserveBytes > 0;

    /// <summary>The level as of the latest reading, read again first when that is stale.</summary>
    public DiskSpaceLevel Level
    {
        get
        {
            if (!IsEnabled)
            {
                return DiskSpaceLevel.Ample;
            }
            if (_time.GetTimestamp() - Volatile.Read(ref _lastReadTimestamp) >= _refreshIntervalTicks ||
                Volatile.Read(ref _writtenSinceRead) >= RefreshAfterBytes)
            {
                Refresh();
            }
            return (DiskSpaceLevel)Volatile.Read(ref _level);
        }
    }

    /// <summary>Whether new data from accounts is refused now (<see cref="DiskSpaceLevel.Reserve"/> or below).</summary>
    public bool RefusesAccountData => Level != DiskSpaceLevel.Ample;

    /// <summary>Free bytes at the latest reading (<see cref="long.MaxValue"/> before the first, or when disabled).</summary>
    public long AvailableBytes => Interlocked.Read(ref _availableBytes);

    /// <summary>Writes refused for the reserve so far (publishes, retained messages, script database writes).</summary>
    public long Refusals => Interlocked.Read(ref _refusals);

    /// <summary>Times the level changed so far.</summary>
    public long Transitions => Interlocked.Read(ref _transitions);

    /// <summary>Notes bytes about to be written, so that a burst is seen before the refresh interval ends.</summary>
    public void NoteWritten(long bytes)
    {
        if (IsEnabled)
        {
            Interlocked.Add(ref _writtenSinceRead, bytes);
        }
    }

    /// <summary>Counts a write refused for the reserve (published as a <c>$SYS</c> counter).</summary>
    public void CountRefusal() => Interlocked.Increment(ref _refusals);

    /// <summary>
    /// For a write of an account's own data outside the broker (a script's database): null when it
    /// may go ahead, otherwise why not ("disk reserve reached ..."), and the refusal is counted.
    /// </summary>
    public string? AccountWriteRefusal()
    {
        if (!RefusesAccountData)
        {
            return null;
        }
        CountRefusal();
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"disk reserve reached: {AvailableBytes} bytes free for the data folder, below the reserve of {ReserveBytes} (storage.diskReserveBytes); nothing was written");
    }

    /// <summary>Reads the free space now and logs a change of level.</summary>
    public void Refresh()
    {
        if (!IsEnabled)
        {
            return;
        }
        lock (_readLock)
        {
            long available;
            try
            {
                available = _probe.AvailableBytes();
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Keep the previous level: a file system that cannot be asked is no reason to refuse or to admit.
                Volatile.Write(ref _lastReadTimestamp, _time.GetTimestamp());
                return;
            }
            Interlocked.Exchange(ref _availableBytes, available);
            Volatile.Write(ref _writtenSinceRead, 0);
            Volatile.Write(ref _lastReadTimestamp, _time.GetTimestamp());
            DiskSpaceLevel level = available < FloorBytes ? DiskSpaceLevel.Floor
                : available < ReserveBytes ? DiskSpaceLevel.Reserve
                : DiskSpaceLevel.Ample;
            var previous = (DiskSpaceLevel)Volatile.Read(ref _level);
            if (level == previous)
            {
                return;
            }
            Volatile.Write(ref _level, (int)level);
            Interlocked.Increment(ref _transitions);
            switch (level)
            {
                case DiskSpaceLevel.Ample:
                    _log.DiskReserveLeft(available, ReserveBytes);
                    break;
                case DiskSpaceLevel.Reserve:
                    _log.DiskReserveEntered(available, ReserveBytes);
                    break;
                default:
                    _log.DiskFloorReached(available, FloorBytes, ReserveBytes);
                    break;
            }
        }
    }
}

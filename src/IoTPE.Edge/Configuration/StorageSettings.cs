namespace IoTPE.Edge.Configuration;

/// <summary>The <c>storage</c> section of the configuration file: how the data folder's disk is protected and used.</summary>
public sealed class StorageSettings
{
    /// <summary>
    /// The default reserve: 64 MiB. Inside it the control plane keeps working (grants, script
    /// management, run-queue rows, acknowledgements, a WAL checkpoint of ~4 MiB); it must also absorb
    /// what is written between two readings of the free space (250 ms or 1 MiB) and one group-commit
    /// batch. 64 MiB is far more than that and still only 0.2 % of a 32 GB SD card.
    /// </summary>
    public const long DefaultDiskReserveBytes = 64L * 1024 * 1024;

    /// <summary>
    /// Free bytes of the data folder's file system below which new data from accounts is refused
    /// (QoS 1/2 messages stored for clients' sessions and retained messages: MQTT 5.0 0x97, 3.1.1 not
    /// acknowledged; scripts' database writes fail); below an eighth of it every new write is refused
    /// and only deletes go on. 0 disables the watch. Default <see cref="DefaultDiskReserveBytes"/>.
    /// </summary>
    public long? DiskReserveBytes { get; set; }

    /// <summary>The longest commit delay accepted: beyond it the delay would be felt as latency.</summary>
    public const double MaximumCommitDelayMilliseconds = 100;

    /// <summary>
    /// How long a QoS 1/2 message may wait, when such messages arrive closer together than this but
    /// one per commit, for the next one to share its sync (SQLite store only; 0 commits each at
    /// once). Default 2 ms: at ~1,000 messages a second half the syncs, ~1 ms more latency for half
    /// of the messages. A QoS 1 run request handed to the engine before its commit waits up to as
    /// long for its run to be acknowledged, and is then never written; 0 turns that off too.
    /// </summary>
    public double? CommitDelayMilliseconds { get; set; }

    /// <summary>Checks that every value given is in range.</summary>
    /// <exception cref="ConfigurationException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (DiskReserveBytes < 0)
        {
            throw new ConfigurationException($"storage.diskReserveBytes must be at least 0 (0 disables the reserve), not {DiskReserveBytes}");
        }
        // NaN fails both bounds, so it is refused too.
        if (CommitDelayMilliseconds is { } delay && delay is not (>= 0 and <= MaximumCommitDelayMilliseconds))
        {
            throw new ConfigurationException(
                $"storage.commitDelayMilliseconds must be between 0 (commit at once) and {MaximumCommitDelayMilliseconds}, not {CommitDelayMilliseconds}");
        }
    }
}

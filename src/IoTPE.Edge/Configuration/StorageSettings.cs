namespace IoTPE.Edge.Configuration;

/// <summary>The <c>storage</c> section of the configuration file: how the data folder's disk is protected.</summary>
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

    /// <summary>Checks that every value given is in range.</summary>
    /// <exception cref="ConfigurationException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (DiskReserveBytes < 0)
        {
            throw new ConfigurationException($"storage.diskReserveBytes must be at least 0 (0 disables the reserve), not {DiskReserveBytes}");
        }
    }
}

namespace IoTPE.Broker.Storage;

/// <summary>How close the data folder's file system is to full, as <see cref="DiskReserve"/> sees it.</summary>
public enum DiskSpaceLevel
{
    /// <summary>More free than the reserve: everything is written.</summary>
    Ample,

    /// <summary>
    /// Less free than the reserve: new data from accounts (messages stored for clients' sessions,
    /// retained messages, scripts' database writes) is refused; the control plane (grants, script
    /// management, run requests, acknowledgements, deletes) keeps working inside the reserve.
    /// </summary>
    Reserve,

    /// <summary>Less free than the floor (an eighth of the reserve): every new write is refused, deletes go on.</summary>
    Floor,
}

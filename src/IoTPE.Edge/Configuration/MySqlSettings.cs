namespace IoTPE.Edge.Configuration;

/// <summary>
/// The <c>mysql</c> section of the configuration file: the central engine's stores on a MySQL/MariaDB
/// server (accounts are its users, scripts and grants in the service database). Absent: SQLite in the data folder.
/// </summary>
public sealed class MySqlSettings
{
    /// <summary>
    /// The connection string of iotpe's service user, e.g. <c>Server=db;User ID=iotpe;Password=...;Database=iotpe</c>
    /// (<c>Database</c> is the service database, default <c>iotpe</c>).
    /// </summary>
    public string? ConnectionString { get; set; }
}

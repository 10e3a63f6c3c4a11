namespace IoTPE.Broker.Storage.MySql;

/// <summary>Settings of a <see cref="MySqlBrokerStore"/>. Every setting but the connection string has a usable default.</summary>
public sealed class MySqlBrokerStoreOptions
{
    /// <summary>
    /// A MySqlConnector connection string of the broker's own service user, with <c>Database=</c> naming
    /// the database whose tables the store creates and owns. The user needs CREATE, ALTER, SELECT,
    /// INSERT, UPDATE and DELETE on that database. Pooling is turned off for the store's two
    /// connections (it keeps them open itself) and prepared statements are always used.
    /// </summary>
    public required string ConnectionString { get; init; }

    /// <summary>
    /// Where the store reports the server becoming unreachable and coming back (once per change),
    /// refused writes and similar events, one line per call. Default: standard error. Called from
    /// the store's writer thread; must not block for long.
    /// </summary>
    public Action<string>? Log { get; init; }

    /// <summary>The first wait before connecting again after the server became unreachable. Default 100 ms.</summary>
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between two attempts to reach the server; the wait doubles up to it. Default 2 s.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(2);
}

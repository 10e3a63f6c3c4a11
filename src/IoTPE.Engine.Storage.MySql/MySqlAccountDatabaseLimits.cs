namespace IoTPE.Engine.Storage.MySql;

/// <summary>What a script's SQL may cost on the central engine's database server.</summary>
public sealed record MySqlAccountDatabaseLimits
{
    /// <summary>The default limits.</summary>
    public static MySqlAccountDatabaseLimits Default { get; } = new();

    /// <summary>
    /// The account's storage quota (data and indexes of its database's tables, as
    /// <c>information_schema.TABLES</c> reports them); default 64 MiB. Past it, statements that
    /// could add data fail with an error that names the quota; reads and deletes go on.
    /// </summary>
    public long MaxDatabaseBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Most bytes of JSON one <c>db.query</c> returns; rows stop being read past it. Default 4 MiB.</summary>
    public int MaxResultBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Most connections of one account's script user at once (a server-side limit of the user); default 4.</summary>
    public int MaxConnectionsPerAccount { get; init; } = 4;
}

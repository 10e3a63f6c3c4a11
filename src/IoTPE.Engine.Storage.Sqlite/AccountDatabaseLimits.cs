namespace IoTPE.Engine.Storage.Sqlite;

/// <summary>
/// What one statement of a script may cost in an account's SQL database. Each limit ends the
/// statement with a script-visible error naming it; nothing is truncated silently.
/// </summary>
public sealed record AccountDatabaseLimits
{
    /// <summary>The default limits.</summary>
    public static AccountDatabaseLimits Default { get; } = new();

    /// <summary>Size cap of the database file (<c>max_page_count</c>); default 64 MiB.</summary>
    public long MaxDatabaseBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Largest string, blob or row (<c>SQLITE_LIMIT_LENGTH</c>); default 1 MiB. It bounds what one
    /// value costs in memory, so <c>zeroblob(999999999)</c> fails at once instead of allocating.
    /// </summary>
    public int MaxValueBytes { get; init; } = 1024 * 1024;

    /// <summary>Most bytes of JSON one <c>db.query</c> returns; rows stop being read past it. Default 4 MiB.</summary>
    public int MaxResultBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// Most memory SQLite may take while one statement runs (sorting, grouping, temporary b-trees,
    /// which are kept in memory rather than in temporary files); default 64 MiB.
    /// </summary>
    public long MaxStatementMemoryBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Longest SQL text of one call (<c>SQLITE_LIMIT_SQL_LENGTH</c>), in bytes.</summary>
    public const int MaxSqlBytes = 100_000;

    /// <summary>Most columns in a table, index, result or <c>ORDER BY</c> (<c>SQLITE_LIMIT_COLUMN</c>).</summary>
    public const int MaxColumns = 500;

    /// <summary>Deepest expression tree (<c>SQLITE_LIMIT_EXPR_DEPTH</c>).</summary>
    public const int MaxExpressionDepth = 100;

    /// <summary>Most terms of a compound <c>SELECT</c> (<c>SQLITE_LIMIT_COMPOUND_SELECT</c>).</summary>
    public const int MaxCompoundSelectTerms = 50;

    /// <summary>Most virtual-machine instructions of one prepared statement (<c>SQLITE_LIMIT_VDBE_OP</c>).</summary>
    public const int MaxProgramSteps = 250_000;

    /// <summary>Most arguments of a function (<c>SQLITE_LIMIT_FUNCTION_ARG</c>).</summary>
    public const int MaxFunctionArguments = 127;

    /// <summary>Longest <c>LIKE</c>/<c>GLOB</c> pattern (<c>SQLITE_LIMIT_LIKE_PATTERN_LENGTH</c>).</summary>
    public const int MaxLikePatternBytes = 1_000;

    /// <summary>Most parameters of one statement (<c>SQLITE_LIMIT_VARIABLE_NUMBER</c>).</summary>
    public const int MaxParameters = 10_000;

    /// <summary>Deepest nesting of triggers firing triggers (<c>SQLITE_LIMIT_TRIGGER_DEPTH</c>).</summary>
    public const int MaxTriggerDepth = 32;
}

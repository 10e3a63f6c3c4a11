using SQLitePCL;

namespace IoTPE.Engine.Storage.Sqlite;

/// <summary>
/// The SQL a script may run in its account's database, as an allow-list checked by SQLite while it
/// compiles each statement (https://www.sqlite.org/c3ref/set_authorizer.html): reading and writing
/// tables; creating and dropping tables, indexes, views and triggers of the account's own (main)
/// database; <c>ALTER TABLE</c>, <c>REINDEX</c>; transactions and savepoints; the built-in scalar,
/// aggregate, window, date, math and JSON functions; and a few pragmas that inspect the schema.
/// Everything else is refused: ATTACH/DETACH, TEMP objects (they would live outside the database's
/// size cap), virtual tables, <c>ANALYZE</c>, every other pragma, and every other function —
/// notably <c>fts3_tokenizer</c>, which hands out and takes native pointers, and <c>load_extension</c>.
/// One instance per connection: it remembers what it refused last, for the script's error message.
/// </summary>
internal sealed class ScriptSqlAuthorizer
{
    // Action codes and return values of https://www.sqlite.org/c3ref/c_alter_table.html.
    private const int SQLITE_OK = 0;
    private const int SQLITE_DENY = 1;
    private const int SQLITE_CREATE_INDEX = 1;
    private const int SQLITE_CREATE_TABLE = 2;
    private const int SQLITE_CREATE_TRIGGER = 7;
    private const int SQLITE_CREATE_VIEW = 8;
    private const int SQLITE_DELETE = 9;
    private const int SQLITE_DROP_INDEX = 10;
    private const int SQLITE_DROP_TABLE = 11;
    private const int SQLITE_DROP_TRIGGER = 16;
    private const int SQLITE_DROP_VIEW = 17;
    private const int SQLITE_INSERT = 18;
    private const int SQLITE_PRAGMA = 19;
    private const int SQLITE_READ = 20;
    private const int SQLITE_SELECT = 21;
    private const int SQLITE_TRANSACTION = 22;
    private const int SQLITE_UPDATE = 23;
    private const int SQLITE_ALTER_TABLE = 26;
    private const int SQLITE_REINDEX = 27;
    private const int SQLITE_FUNCTION = 31;
    private const int SQLITE_SAVEPOINT = 32;
    private const int SQLITE_RECURSIVE = 33;

    private const string Main = "main";

    /// <summary>
    /// Functions a business rule may call. Built-in ones only: none takes or returns a pointer, none
    /// reaches outside the database, and each one's memory is bounded by <c>SQLITE_LIMIT_LENGTH</c>.
    /// </summary>
    internal static readonly HashSet<string> Functions = new(StringComparer.OrdinalIgnoreCase)
    {
        // Core scalar functions (https://www.sqlite.org/lang_corefunc.html), without load_extension,
        // sqlite_compileoption_*, sqlite_offset and sqlite_source_id.
        "abs", "changes", "char", "coalesce", "concat", "concat_ws", "format", "glob", "hex", "ifnull", "iif",
        "instr", "last_insert_rowid", "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min",
        "nullif", "octet_length", "printf", "quote", "random", "randomblob", "replace", "round", "rtrim", "sign",
        "soundex", "sqlite_version", "substr", "substring", "total_changes", "trim", "typeof", "unhex", "unicode",
        "unlikely", "upper", "zeroblob",
        // Date and time (https://www.sqlite.org/lang_datefunc.html); CURRENT_* are functions too.
        "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff",
        "current_date", "current_time", "current_timestamp",
        // Aggregates (https://www.sqlite.org/lang_aggfunc.html) and window functions (https://www.sqlite.org/windowfunctions.html).
        "avg", "count", "group_concat", "string_agg", "sum", "total",
        "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
        "first_value", "last_value", "nth_value",
        // Math (https://www.sqlite.org/lang_mathfunc.html).
        "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh", "degrees",
        "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians", "sin", "sinh",
        "sqrt", "tan", "tanh", "trunc",
        // JSON (https://www.sqlite.org/json1.html); -> and ->> are functions too.
        "->", "->>", "json", "json_array", "json_array_length", "json_error_position", "json_extract",
        "json_group_array", "json_group_object", "json_insert", "json_object", "json_patch", "json_pretty",
        "json_quote", "json_remove", "json_replace", "json_set", "json_type", "json_valid",
        "jsonb", "jsonb_array", "jsonb_extract", "jsonb_group_array", "jsonb_group_object", "jsonb_insert",
        "jsonb_object", "jsonb_patch", "jsonb_remove", "jsonb_replace", "jsonb_set",
        // SQLite's own, called by the statements it runs for ALTER TABLE. SQLite refuses them in a
        // script's SQL ("no such function") before asking the authorizer.
        "sqlite_rename_column", "sqlite_rename_table", "sqlite_rename_test", "sqlite_rename_quotefix", "sqlite_drop_column",
    };

    /// <summary>
    /// The virtual-table modules left on the connection: the table-valued JSON functions. No full-text
    /// or r-tree module: their shadow tables and tokenizers are attack surface no business rule needs.
    /// </summary>
    internal static readonly string[] Modules = ["json_each", "json_tree"];

    // Pragmas that inspect the schema; with or without their argument (a table or index name) they change nothing.
    private static readonly HashSet<string> SchemaPragmas = new(StringComparer.OrdinalIgnoreCase)
    {
        "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
        "data_version", "page_count", "page_size", "freelist_count", "max_page_count",
    };

    // Pragmas a business rule may also set: its schema's version number for migrations, and whether
    // its own foreign keys are enforced. Both affect only this account's database.
    private static readonly HashSet<string> SettablePragmas = new(StringComparer.OrdinalIgnoreCase)
    {
        "user_version", "foreign_keys",
    };

    /// <summary>Creates an authorizer; install <see cref="Callback"/> with <c>sqlite3_set_authorizer</c>.</summary>
    public ScriptSqlAuthorizer() => Callback = Authorize;

    /// <summary>The callback to give SQLite (kept here so that it lives as long as the connection).</summary>
    public delegate_authorizer Callback { get; }

    /// <summary>What was refused last, e.g. "function fts3_tokenizer", or null.</summary>
    public string? Refused { get; private set; }

    // True while an ALTER TABLE compiles: SQLite's own statements for it then touch the temp schema.
    private bool _altering;

    /// <summary>Forgets the last refusal, before a new statement is compiled.</summary>
    public void Reset()
    {
        Refused = null;
        _altering = false;
    }

    private int Authorize(object userData, int action, utf8z arg1, utf8z arg2, utf8z database, utf8z trigger)
    {
        _altering |= action == SQLITE_ALTER_TABLE;
        string? refusal = Check(action, arg1.utf8_to_string(), arg2.utf8_to_string(), database.utf8_to_string(), _altering);
        if (refusal is null)
        {
            return SQLITE_OK;
        }
        Refused = refusal;
        return SQLITE_DENY;
    }

    /// <summary>Null when the action is allowed, else a short description of what is refused.</summary>
    internal static string? Check(int action, string? arg1, string? arg2, string? database, bool altering)
    {
        if (database == "temp")
        {
            // ALTER TABLE's own statements read and rewrite the temp schema's table (empty: no TEMP objects).
            return altering && arg1 == "sqlite_temp_master" && action is SQLITE_READ or SQLITE_UPDATE
                ? null
                : $"{arg1} in the temp schema (TEMP objects are not allowed: they would live outside the database's size cap)";
        }
        switch (action)
        {
            case SQLITE_SELECT:
            case SQLITE_RECURSIVE:
            case SQLITE_TRANSACTION:
            case SQLITE_SAVEPOINT:
                return null;
            case SQLITE_READ:
            case SQLITE_INSERT:
            case SQLITE_UPDATE:
            case SQLITE_DELETE:
                // A null database: a table-less read, e.g. of a window function's input.
                return database is null or Main ? null : $"table {database}.{arg1} (only the account's own tables are reachable)";
            case SQLITE_CREATE_TABLE:
            case SQLITE_CREATE_INDEX:
            case SQLITE_CREATE_VIEW:
            case SQLITE_CREATE_TRIGGER:
            case SQLITE_DROP_TABLE:
            case SQLITE_DROP_INDEX:
            case SQLITE_DROP_VIEW:
            case SQLITE_DROP_TRIGGER:
                return database == Main ? null : $"{database}.{arg1} (objects can only be created in the account's own database)";
            case SQLITE_ALTER_TABLE:
                return arg1 == Main ? null : $"ALTER TABLE {arg1}.{arg2}";
            case SQLITE_REINDEX:
                return database is null or Main ? null : $"REINDEX {database}.{arg1}";
            case SQLITE_FUNCTION:
                return arg2 is not null && Functions.Contains(arg2) ? null : $"function {arg2}";
            case SQLITE_PRAGMA:
                if (arg1 is not null && database is null or Main
                    && (SettablePragmas.Contains(arg1) || (SchemaPragmas.Contains(arg1) && !ChangesSetting(arg1, arg2))))
                {
                    return null;
                }
                return $"PRAGMA {arg1}" + (arg2 is null ? "" : $" = {arg2}");
            default:
                return Describe(action, arg1, arg2);
        }
    }

    // table_info(t) names a table; max_page_count = N would raise the size cap.
    private static bool ChangesSetting(string pragma, string? argument) =>
        argument is not null && pragma is "data_version" or "page_count" or "page_size" or "freelist_count" or "max_page_count";

    private static string Describe(int action, string? arg1, string? arg2) => action switch
    {
        24 => "ATTACH",
        25 => "DETACH",
        28 => "ANALYZE",
        29 => $"virtual table {arg1} using {arg2}",
        30 => $"DROP of virtual table {arg1}",
        3 or 4 or 5 or 6 or 12 or 13 or 14 or 15 => $"TEMP object {arg1} (TEMP objects are not allowed: they would live outside the database's size cap)",
        _ => $"operation {action} ({arg1}, {arg2})",
    };
}

using System.Text.Json;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// Each account's own SQL database, which its scripts reach through <c>db.query</c> and
/// <c>db.exec</c>: one file per account, parameters always bound, and no way to reach another
/// account's file (no ATTACH). Calls for one account come from one thread at a time.
/// </summary>
public interface IAccountDatabases
{
    /// <summary>Runs a query and writes its rows as a JSON array of objects.</summary>
    /// <exception cref="AccountDatabaseException">The SQL failed; the message says why.</exception>
    void Query(string account, string sql, JsonElement parameters, Utf8JsonWriter result, TimeSpan timeout);

    /// <summary>Runs a statement and writes <c>{"changes": n, "lastInsertRowid": n}</c>.</summary>
    /// <exception cref="AccountDatabaseException">The SQL failed; the message says why.</exception>
    void Execute(string account, string sql, JsonElement parameters, Utf8JsonWriter result, TimeSpan timeout);

    /// <summary>Closes the account's database (the account was removed, or its scripts went idle).</summary>
    void Close(string account);

    /// <summary>Closes and deletes the account's database with its folder (the account was removed). Returns whether there was one.</summary>
    bool Delete(string account);
}

using System.CommandLine;
using MySqlConnector;

namespace IoTPE.Edge.Commands;

/// <summary>The <c>--mysql "CONNECTION STRING"</c> option: work on a central engine's MySQL/MariaDB server instead of the data folder's SQLite files.</summary>
internal static class MySqlOption
{
    public static Option<string?> Create(string? description = null) => new("--mysql")
    {
        Description = description ?? "Work on the central engine's MySQL/MariaDB server: the connection string of iotpe's service user "
            + "(e.g. \"Server=db;User ID=iotpe;Password=...;Database=iotpe\") instead of the data folder.",
    };

    /// <summary>The user name of a connection string.</summary>
    public static string UserOf(string connectionString) => new MySqlConnectionStringBuilder(connectionString).UserID;

    /// <summary>Runs <paramref name="action"/>; a database error is reported in one line (exit code 1).</summary>
    public static int Guard(ParseResult parseResult, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is MySqlException or ArgumentException)
        {
            parseResult.InvocationConfiguration.Error.WriteLine("iotpe: database server: " + e.Message);
            return 1;
        }
    }
}

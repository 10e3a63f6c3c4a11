using IoTPE.Sqlite;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace IoTPE.Broker.Storage.Sqlite.Tests;

/// <summary>
/// A second, independent connection to a store's database (as another process would see it), to
/// check what is really committed.
/// </summary>
internal static class DatabaseProbe
{
    public static long Scalar(string databasePath, string sql)
    {
        SqliteRuntime.Initialize();
        using var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public static string Text(string databasePath, string sql)
    {
        SqliteRuntime.Initialize();
        using var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        connection.Open();
        using SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), CultureInfo.InvariantCulture) ?? string.Empty;
    }
}

using MySqlConnector;

namespace IoTPE.Engine.Storage.MySql;

/// <summary>
/// iotpe's own database on the central engine's server (the <c>Database=</c> of the service user's
/// connection string, default <see cref="DefaultName"/>): grants, pending account removals, scripts
/// with versions and schedules, kv entries, run marks, the engine-managed script users, and the
/// stored procedures through which accounts reach their own scripts with their own credentials.
/// Tables and procedures are created on first use. Connections are pooled; every method opens one,
/// uses it and gives it back, so a server that went away costs a failed call, not a broken store.
/// </summary>
public sealed class MySqlServiceDatabase
{
    /// <summary>The service database's name when the connection string names none.</summary>
    public const string DefaultName = "iotpe";

    /// <summary>Connects as the service user to <paramref name="connectionString"/>'s server; creates the database, tables and procedures if missing.</summary>
    /// <exception cref="MySqlException">The server cannot be reached or refuses the service user.</exception>
    public MySqlServiceDatabase(string connectionString)
    {
        var builder = new MySqlConnectionStringBuilder(connectionString);
        Name = string.IsNullOrEmpty(builder.Database) ? DefaultName : builder.Database;
        ServiceUser = builder.UserID;
        // The database may not exist yet: connect without it, create it, then name it.
        builder.Database = "";
        builder.AllowUserVariables = true;
        ServerConnectionString = builder.ConnectionString;
        builder.Database = Name;
        ConnectionString = builder.ConnectionString;
        ServiceSchema.Create(this);
    }

    /// <summary>The service database's name.</summary>
    public string Name { get; }

    /// <summary>The service user's name (never an account).</summary>
    public string ServiceUser { get; }

    /// <summary>The service user's connection string with the service database.</summary>
    internal string ConnectionString { get; }

    /// <summary>The service user's connection string without a database.</summary>
    internal string ServerConnectionString { get; }

    /// <summary>Opens a pooled connection as the service user in the service database.</summary>
    internal MySqlConnection Open()
    {
        var connection = new MySqlConnection(ConnectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>A command on <paramref name="connection"/> with <c>@</c>-parameters given as pairs.</summary>
    internal static MySqlCommand Command(MySqlConnection connection, string sql, MySqlTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        var command = new MySqlCommand(sql, connection, transaction);
        foreach ((string name, object? value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }

    /// <summary>The change counter of <paramref name="area"/> (<c>accounts</c>, <c>scripts</c>).</summary>
    internal long ChangeVersion(MySqlConnection connection, string area)
    {
        using MySqlCommand command = Command(connection, "SELECT version FROM change_versions WHERE area = @area", null, ("@area", area));
        return command.ExecuteScalar() is { } value ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>Moves the change counter of <paramref name="area"/>, so that a running engine reloads.</summary>
    internal static void Touch(MySqlConnection connection, MySqlTransaction? transaction, string area)
    {
        using MySqlCommand command = Command(connection,
            "INSERT INTO change_versions(area, version) VALUES (@area, 1) ON DUPLICATE KEY UPDATE version = version + 1", transaction, ("@area", area));
        command.ExecuteNonQuery();
    }

    /// <summary>Stores the script quota that the account-facing procedures apply (the engine's configuration).</summary>
    public void SetScriptQuota(Scripts.ScriptQuota quota)
    {
        ArgumentNullException.ThrowIfNull(quota);
        using MySqlConnection connection = Open();
        using MySqlCommand command = Command(connection, """
            INSERT INTO settings(name, value) VALUES ('script_versions_kept', @kept), ('script_max_bytes', @bytes)
            ON DUPLICATE KEY UPDATE value = VALUES(value)
            """, null, ("@kept", quota.VersionsKept), ("@bytes", quota.MaxBytes));
        command.ExecuteNonQuery();
    }
}

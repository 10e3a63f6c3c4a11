using System.Globalization;
using IoTPE.Engine.Scripts;
using MySqlConnector;

namespace IoTPE.Engine.Storage.MySql;

/// <summary>
/// One account's scripts reached with the account's OWN credentials (the seed's
/// <c>./load_script.sh user password calc ./calc.js</c>, from a workstation that has nothing else):
/// every call is one of the service database's <c>script_*</c> procedures, which take the account
/// from the server-authenticated session user, so these credentials reach this account's scripts
/// and nothing more. The quota applied is the one the running engine stored (<see cref="MySqlServiceDatabase.SetScriptQuota"/>).
/// </summary>
public sealed class MySqlAccountScripts : IScriptStore
{
    private readonly string _connectionString;
    private readonly string _serviceDatabase;
    private readonly string _account;

    /// <summary>Works as the user of <paramref name="accountConnectionString"/>; its <c>Database=</c> names the service database (default <c>iotpe</c>).</summary>
    public MySqlAccountScripts(string accountConnectionString)
    {
        var builder = new MySqlConnectionStringBuilder(accountConnectionString);
        _account = builder.UserID;
        _serviceDatabase = string.IsNullOrEmpty(builder.Database) ? MySqlServiceDatabase.DefaultName : builder.Database;
        builder.Database = "";
        builder.Pooling = false; // the account's password is not kept by a pool
        _connectionString = builder.ConnectionString;
    }

    /// <inheritdoc/>
    public long ChangeVersion => 0;

    /// <inheritdoc/>
    public StoredScript? Save(string account, string name, string text, ScriptQuota quota, out long bytesNeeded)
    {
        long needed = 0;
        StoredScript? saved = Call("script_load", [name, text], reader =>
        {
            reader.Read();
            needed = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
            return reader.IsDBNull(0) ? null : new StoredScript(_account, name, Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture), text,
                DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture)));
        });
        bytesNeeded = needed;
        return saved;
    }

    /// <inheritdoc/>
    public StoredScript? GetLatest(string account, string name) => Show(name, null);

    /// <inheritdoc/>
    public StoredScript? Get(string account, string name, int version) => Show(name, version);

    /// <inheritdoc/>
    public IReadOnlyList<StoredScript> List(string account) => Call("script_list", [], reader =>
    {
        var scripts = new List<StoredScript>();
        while (reader.Read())
        {
            scripts.Add(new StoredScript(_account, reader.GetString(0), reader.GetInt32(1), "", DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))));
        }
        return scripts;
    });

    /// <inheritdoc/>
    public bool Remove(string account, string name) =>
        Call("script_remove", [name], reader => reader.Read() && Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture) > 0);

    /// <inheritdoc/>
    public void SetSchedule(string account, string name, int? everySeconds) =>
        Call("script_schedule", [name, everySeconds], reader => reader.Read());

    /// <inheritdoc/>
    public IReadOnlyList<ScriptSchedule> Schedules() => Call("script_list", [], reader =>
    {
        var schedules = new List<ScriptSchedule>();
        while (reader.Read())
        {
            if (!reader.IsDBNull(3))
            {
                schedules.Add(new ScriptSchedule(_account, reader.GetString(0), reader.GetInt32(3)));
            }
        }
        return schedules;
    });

    /// <summary>The account's quarantined run requests.</summary>
    public IReadOnlyList<QuarantinedRun> Quarantined() => Call("script_list", [], reader =>
    {
        var runs = new List<QuarantinedRun>();
        while (reader.Read())
        {
        }
        if (reader.NextResult())
        {
            while (reader.Read())
            {
                runs.Add(new QuarantinedRun(_account, reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1))));
            }
        }
        return runs;
    });

    private StoredScript? Show(string name, int? version) => Call("script_show", [name, version], reader =>
        reader.Read()
            ? new StoredScript(_account, reader.GetString(0), reader.GetInt32(1), reader.GetString(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)))
            : null);

    private T Call<T>(string procedure, object?[] arguments, Func<MySqlDataReader, T> read)
    {
        using var connection = new MySqlConnection(_connectionString);
        connection.Open();
        string placeholders = string.Join(", ", arguments.Select((_, i) => "@p" + i.ToString(CultureInfo.InvariantCulture)));
        using var command = new MySqlCommand($"CALL {SqlName.Identifier(_serviceDatabase)}.{SqlName.Identifier(procedure)}({placeholders})", connection);
        for (int i = 0; i < arguments.Length; i++)
        {
            command.Parameters.AddWithValue("@p" + i.ToString(CultureInfo.InvariantCulture), arguments[i] ?? DBNull.Value);
        }
        using MySqlDataReader reader = command.ExecuteReader();
        return read(reader);
    }
}

using System.Globalization;

namespace IoTPE.Broker.Storage.MySql.Tests;

/// <summary>One private MariaDB server per test class; each test gets a database of its own.</summary>
public sealed class MariaDbFixture : IAsyncLifetime
{
    private int _databases;

    public MariaDbServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await MariaDbServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>Creates an empty database and returns root's connection string to it.</summary>
    public async Task<string> NewDatabaseAsync()
    {
        string name = string.Create(CultureInfo.InvariantCulture, $"broker{Interlocked.Increment(ref _databases)}");
        await Server.ExecuteAsRootAsync($"CREATE DATABASE {name}");
        return Server.ConnectionString("root", "", name);
    }

    /// <summary>Runs a query as root in <paramref name="database"/> and returns its rows, tab-separated.</summary>
    public Task<string> QueryAsync(string connectionString, string sql) =>
        Server.ExecuteAsRootAsync($"USE {DatabaseOf(connectionString)}; {sql}");

    private static string DatabaseOf(string connectionString) =>
        connectionString.Split(';').Single(part => part.StartsWith("Database=", StringComparison.Ordinal))["Database=".Length..];
}

using IoTPE.Engine.Storage.MySql;

namespace IoTPE.Engine.Storage.MySql.Tests;

/// <summary>One MariaDB server per test class, with iotpe's service user set up as the README says.</summary>
public sealed class MariaDbFixture : IAsyncLifetime
{
    public const string ServicePassword = "service-secret";

    public MariaDbServer Server { get; private set; } = null!;

    public string ServiceConnectionString => Server.ConnectionString("iotpe", ServicePassword, "iotpe");

    public async Task InitializeAsync()
    {
        Server = await MariaDbServer.StartAsync();
        await Server.ExecuteAsRootAsync(ServiceUserSql);
    }

    /// <summary>The service user's privileges, as in README.md ("Central engine on MySQL/MariaDB").</summary>
    public const string ServiceUserSql = """
        CREATE USER 'iotpe'@'%' IDENTIFIED BY 'service-secret';
        CREATE USER 'iotpe'@'localhost' IDENTIFIED BY 'service-secret';
        GRANT ALL PRIVILEGES ON *.* TO 'iotpe'@'%' WITH GRANT OPTION;
        GRANT ALL PRIVILEGES ON *.* TO 'iotpe'@'localhost' WITH GRANT OPTION;
        """;

    public MySqlServiceDatabase OpenService() => new(ServiceConnectionString);

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

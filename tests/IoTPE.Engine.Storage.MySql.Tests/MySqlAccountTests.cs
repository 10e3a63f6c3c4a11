using System.Net;
using System.Text;
using IoTPE.Broker.Security;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Security;
using IoTPE.Mqtt;

namespace IoTPE.Engine.Storage.MySql.Tests;

/// <summary>Accounts are the server's users; CONNECT passwords are checked by logging in to the server.</summary>
public sealed class MySqlAccountTests(MariaDbFixture fixture) : IClassFixture<MariaDbFixture>
{
    private static AuthenticationRequest Login(string user, string password, string address = "10.0.0.1") =>
        new("c1", user, Encoding.UTF8.GetBytes(password), new IPEndPoint(IPAddress.Parse(address), 5000), "mqtt", null);

    private (AccountDirectory Directory, AccountAuthenticator Authenticator, MySqlAccountStore Store) Authenticator()
    {
        var service = fixture.OpenService();
        var store = new MySqlAccountStore(service);
        var directory = new AccountDirectory(store);
        var authenticator = new AccountAuthenticator(directory, allowAnonymous: false, new LoginLimiter(TimeProvider.System), TimeProvider.System,
            new MySqlLoginCheck(fixture.ServiceConnectionString, TimeSpan.FromSeconds(2)));
        return (directory, authenticator, store);
    }

    [Fact]
    public async Task An_account_made_by_iotpe_logs_in_with_its_password_and_not_with_another()
    {
        (AccountDirectory directory, AccountAuthenticator authenticator, MySqlAccountStore store) = Authenticator();
        Assert.True(store.CreateAccount("alice", "alice-secret"));
        Assert.False(store.CreateAccount("alice", "other"));
        directory.ReloadIfChanged();
        Assert.True(directory.Current.Exists("alice"));

        AuthenticationResult right = await authenticator.AuthenticateAsync(Login("alice", "alice-secret"), default);
        Assert.True(right.Succeeded, right.Reason);
        Assert.Equal("alice", right.UserName);
        AuthenticationResult wrong = await authenticator.AuthenticateAsync(Login("alice", "guess", "10.0.0.2"), default);
        Assert.False(wrong.Succeeded);
        Assert.Equal(ReasonCode.BadUserNameOrPassword, wrong.ReasonCode);
        AuthenticationResult unknown = await authenticator.AuthenticateAsync(Login("nobody", "x", "10.0.0.3"), default);
        Assert.Equal(ReasonCode.BadUserNameOrPassword, unknown.ReasonCode);

        // A new password (set by iotpe) ends the remembered verification of the old one.
        Assert.True(store.SetPassword("alice", "new-secret"));
        directory.ReloadIfChanged();
        Assert.False((await authenticator.AuthenticateAsync(Login("alice", "alice-secret", "10.0.0.4"), default)).Succeeded);
        Assert.True((await authenticator.AuthenticateAsync(Login("alice", "new-secret", "10.0.0.4"), default)).Succeeded);
    }

    [Fact]
    public async Task A_user_created_the_traditional_way_is_an_account_at_its_first_login()
    {
        (AccountDirectory directory, AccountAuthenticator authenticator, _) = Authenticator();
        Assert.False(directory.Current.Exists("carol"));
        await fixture.Server.ExecuteAsRootAsync("""
            CREATE USER 'carol'@'%' IDENTIFIED BY 'carol-secret'; CREATE USER 'carol'@'localhost' IDENTIFIED BY 'carol-secret';
            CREATE DATABASE carol; GRANT ALL ON carol.* TO 'carol'@'%', 'carol'@'localhost';
            """);
        AuthenticationResult result = await authenticator.AuthenticateAsync(Login("carol", "carol-secret"), default);
        Assert.True(result.Succeeded, result.Reason);
        Assert.True(directory.Current.Exists("carol"));

        // A user without a database of its name is not an account.
        await fixture.Server.ExecuteAsRootAsync("CREATE USER 'dave'@'%' IDENTIFIED BY 'dave-secret'; CREATE USER 'dave'@'localhost' IDENTIFIED BY 'dave-secret';");
        Assert.Equal(ReasonCode.BadUserNameOrPassword, (await authenticator.AuthenticateAsync(Login("dave", "dave-secret", "10.0.0.9"), default)).ReasonCode);
        Assert.DoesNotContain(directory.Current.Accounts, a => a.Name is "dave" or "iotpe" or "root" or "mysql");
    }

    [Fact]
    public async Task Removing_an_account_drops_its_users_grants_and_later_its_database()
    {
        var service = fixture.OpenService();
        var store = new MySqlAccountStore(service);
        Assert.True(store.CreateAccount("erin", "erin-secret"));
        Assert.True(store.CreateAccount("frank", "frank-secret"));
        store.AddGrant(new Grant("erin", "frank", GrantKind.Subscribe, "mytopic"));
        store.AddGrant(new Grant("erin", "frank", GrantKind.Subscribe, "mytopic"));
        Assert.Single(store.LoadAll().Grants, g => g.Owner == "erin");

        Assert.True(store.RemoveAccount("erin"));
        Assert.False(store.RemoveAccount("erin"));
        Assert.DoesNotContain(store.LoadAll().Accounts, a => a.Name == "erin");
        Assert.DoesNotContain(store.LoadAll().Grants, g => g.Owner == "erin");
        Assert.Contains("erin", store.PendingRemovals());
        Assert.Equal("", (await fixture.Server.ExecuteAsRootAsync("SELECT User FROM mysql.user WHERE User = 'erin'")).Trim());

        var databases = new MySqlAccountDatabases(service);
        Assert.True(databases.Delete("erin"));
        store.FinishRemoval("erin");
        Assert.Empty(store.Remains("erin"));
        Assert.DoesNotContain("erin", store.PendingRemovals());
    }

    [Fact]
    public async Task A_stopped_server_is_unavailable_not_a_wrong_password_and_costs_no_failure()
    {
        await using MariaDbServer server = await MariaDbServer.StartAsync();
        await server.ExecuteAsRootAsync(MariaDbFixture.ServiceUserSql);
        string connectionString = server.ConnectionString("iotpe", MariaDbFixture.ServicePassword, "iotpe");
        var store = new MySqlAccountStore(new MySqlServiceDatabase(connectionString));
        Assert.True(store.CreateAccount("gina", "gina-secret"));
        var directory = new AccountDirectory(store);
        var limiter = new LoginLimiter(TimeProvider.System) { FreeFailures = 1 };
        using var authenticator = new AccountAuthenticator(directory, false, limiter, TimeProvider.System, new MySqlLoginCheck(connectionString, TimeSpan.FromSeconds(2)));

        await server.StopAsync();
        for (int i = 0; i < 3; i++)
        {
            AuthenticationResult down = await authenticator.AuthenticateAsync(Login("gina", "gina-secret"), default);
            Assert.False(down.Succeeded);
            Assert.Equal(ReasonCode.ServerUnavailable, down.ReasonCode);
        }
        Assert.Equal(directory.Current.Find("gina")!.PasswordHash, directory.Current.Find("gina")!.PasswordHash);

        await server.RestartAsync();
        AuthenticationResult up = await authenticator.AuthenticateAsync(Login("gina", "gina-secret"), default);
        Assert.True(up.Succeeded, up.Reason); // three unanswered checks were no failures: no delay
    }
}

using System.Net;
using System.Text;
using IoTPE.Broker.Security;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Security;
using IoTPE.Mqtt;
using IoTPE.Engine.Storage.Sqlite;

namespace IoTPE.Engine.Tests;

public sealed class AccountAuthenticatorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("iotpe-auth-").FullName;
    private readonly SqliteEngineDatabase _database;
    private readonly SqliteAccountStore _store;
    private readonly AccountDirectory _directory;

    public AccountAuthenticatorTests()
    {
        _database = new SqliteEngineDatabase(_folder);
        _store = new SqliteAccountStore(_database);
        _store.AddAccount(new Account("acme", PasswordHasher.Hash("s3cret", 1000), DateTimeOffset.UtcNow));
        _directory = new AccountDirectory(_store);
    }

    public void Dispose()
    {
        _directory.Dispose();
        _database.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static AuthenticationRequest Request(string? user, string? password, string address = "10.1.2.3") =>
        new("c1", user, password is null ? null : Encoding.UTF8.GetBytes(password), new IPEndPoint(IPAddress.Parse(address), 5000), "mqtt", null);

    private AccountAuthenticator Create(bool anonymous = false) => new(_directory, anonymous, new FailedLoginLimiter(TimeProvider.System));

    [Fact]
    public async Task The_right_password_logs_in_as_the_account()
    {
        using AccountAuthenticator auth = Create();
        AuthenticationResult result = await auth.AuthenticateAsync(Request("acme", "s3cret"), default);
        Assert.True(result.Succeeded);
        Assert.Equal("acme", result.UserName);
    }

    [Theory]
    [InlineData("acme", "wrong")]
    [InlineData("acme", "")]
    [InlineData("nobody", "s3cret")]
    public async Task Wrong_credentials_are_bad_user_name_or_password(string user, string password)
    {
        using AccountAuthenticator auth = Create();
        AuthenticationResult result = await auth.AuthenticateAsync(Request(user, password), default);
        Assert.False(result.Succeeded);
        Assert.Equal(ReasonCode.BadUserNameOrPassword, result.ReasonCode);
    }

    [Fact]
    public async Task Anonymous_clients_depend_on_the_setting()
    {
        using AccountAuthenticator closed = Create(anonymous: false);
        using AccountAuthenticator open = Create(anonymous: true);
        Assert.Equal(ReasonCode.NotAuthorized, (await closed.AuthenticateAsync(Request(null, null), default)).ReasonCode);
        Assert.True((await open.AuthenticateAsync(Request(null, null), default)).Succeeded);
    }

    [Fact]
    public async Task A_changed_password_invalidates_the_remembered_one()
    {
        using AccountAuthenticator auth = Create();
        Assert.True((await auth.AuthenticateAsync(Request("acme", "s3cret"), default)).Succeeded);
        _store.SetPasswordHash("acme", PasswordHasher.Hash("n3w", 1000));
        _directory.ReloadIfChanged();
        Assert.False((await auth.AuthenticateAsync(Request("acme", "s3cret"), default)).Succeeded);
        Assert.True((await auth.AuthenticateAsync(Request("acme", "n3w"), default)).Succeeded);
    }

    [Fact]
    public async Task Failures_from_one_address_lock_it_out_but_not_others()
    {
        using AccountAuthenticator auth = Create();
        for (int i = 0; i < 5; i++)
        {
            await auth.AuthenticateAsync(Request("acme", "guess" + i, "10.9.9.9"), default);
        }
        AuthenticationResult blocked = await auth.AuthenticateAsync(Request("acme", "s3cret", "10.9.9.9"), default);
        Assert.False(blocked.Succeeded);
        Assert.Contains("too many failed logins", blocked.Reason, StringComparison.Ordinal);
        Assert.True((await auth.AuthenticateAsync(Request("acme", "s3cret", "10.8.8.8"), default)).Succeeded);
    }
}

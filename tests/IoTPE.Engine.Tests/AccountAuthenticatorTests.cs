using System.Net;
using System.Text;
using IoTPE.Broker.Security;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Security;
using IoTPE.Mqtt;
using IoTPE.Engine.Storage.Sqlite;
using IoTPE.TestSupport;

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
        _database.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static AuthenticationRequest Request(string? user, string? password, string address = "10.1.2.3") =>
        new("c1", user, password is null ? null : Encoding.UTF8.GetBytes(password), new IPEndPoint(IPAddress.Parse(address), 5000), "mqtt", null);

    private AccountAuthenticator Create(bool anonymous = false) => new(_directory, anonymous, new LoginLimiter(TimeProvider.System));

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
    public async Task Clients_of_one_account_logging_in_together_all_get_in_by_waiting_for_the_running_check()
    {
        // A subscriber and a publisher, or devices after a power cut: only one check of an account
        // runs at a time, and the others wait for it instead of being refused as if under attack.
        using AccountAuthenticator auth = Create();
        AuthenticationResult[] results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            auth.AuthenticateAsync(Request("acme", "s3cret", i % 2 == 0 ? "10.1.2.3" : $"10.9.9.{i}"), default).AsTask()));
        Assert.All(results, r => Assert.True(r.Succeeded, r.Reason));
    }

    [Fact]
    public async Task A_login_waiting_for_a_running_check_that_fails_is_still_checked_itself()
    {
        using AccountAuthenticator auth = Create();
        Task<AuthenticationResult> wrong = auth.AuthenticateAsync(Request("acme", "wrong"), default).AsTask();
        Task<AuthenticationResult> right = auth.AuthenticateAsync(Request("acme", "s3cret"), default).AsTask();
        Assert.Equal(ReasonCode.BadUserNameOrPassword, (await wrong).ReasonCode);
        Assert.True((await right).Succeeded);
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
    public async Task Guesses_hold_back_their_address_and_account_but_not_a_client_that_logged_in_before()
    {
        _store.AddAccount(new Account("bob", PasswordHasher.Hash("b0b", 1000), DateTimeOffset.UtcNow));
        _directory.ReloadIfChanged();
        var clock = new ManualClock(); // the delays do not run out however slow the machine is
        using var auth = new AccountAuthenticator(_directory, false, new LoginLimiter(clock), clock);
        Assert.True((await auth.AuthenticateAsync(Request("acme", "s3cret", "10.7.7.7"), default)).Succeeded);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(ReasonCode.BadUserNameOrPassword, (await auth.AuthenticateAsync(Request("acme", "guess" + i, "10.9.9.9"), default)).ReasonCode);
        }

        // The guesser's address, even with another account's right password: not checked, told to retry.
        AuthenticationResult held = await auth.AuthenticateAsync(Request("bob", "b0b", "10.9.9.9"), default);
        Assert.Equal(ReasonCode.ServerBusy, held.ReasonCode);
        Assert.Contains("too many failed logins", held.Reason, StringComparison.Ordinal);
        Assert.True((await auth.AuthenticateAsync(Request("bob", "b0b", "10.8.8.8"), default)).Succeeded);
        // acme's owner, whose password was checked before, gets in at once from anywhere.
        Assert.True((await auth.AuthenticateAsync(Request("acme", "s3cret", "10.6.6.6"), default)).Succeeded);

        // A new password is checked again: a first login to the attacked account from elsewhere
        // waits, the address it logged in from before does not.
        _store.SetPasswordHash("acme", PasswordHasher.Hash("n3w", 1000));
        _directory.ReloadIfChanged();
        Assert.Equal(ReasonCode.ServerBusy, (await auth.AuthenticateAsync(Request("acme", "n3w", "10.8.8.8"), default)).ReasonCode);
        Assert.True((await auth.AuthenticateAsync(Request("acme", "n3w", "10.7.7.7"), default)).Succeeded);
    }
}

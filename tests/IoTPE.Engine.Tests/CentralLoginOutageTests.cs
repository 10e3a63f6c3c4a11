using System.Net;
using System.Text;
using IoTPE.Broker.Security;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Security;
using IoTPE.Mqtt;

namespace IoTPE.Engine.Tests;

/// <summary>
/// <see cref="AccountAuthenticator"/> where accounts are database users (the central engine) and the
/// database server is down: nothing can be checked, so nobody is told "wrong", neither a known account
/// nor a name that may be a user created on the server meanwhile; once it is back, both are answered.
/// </summary>
public sealed class CentralLoginOutageTests
{
    private sealed class ServerAccounts : IAccountStore
    {
        public volatile bool Down;
        public List<Account> Users { get; } = [new Account("ada", "server-side", DateTimeOffset.UnixEpoch)];

        public long ChangeVersion => 1; // as MySqlAccountStore: the last version it read while the server is down

        public (IReadOnlyList<Account> Accounts, IReadOnlyList<Grant> Grants) LoadAll() =>
            Down ? throw new IOException("Unable to connect to any of the specified MySQL hosts.") : ([.. Users], []);

        public bool AddAccount(Account account) => throw new NotSupportedException();
        public bool SetPasswordHash(string name, string passwordHash) => throw new NotSupportedException();
        public bool RemoveAccount(string name) => throw new NotSupportedException();
        public IReadOnlyList<string> PendingRemovals() => [];
        public void FinishRemoval(string name) { }
        public IReadOnlyList<string> Remains(string name) => [];
        public void AddGrant(Grant grant) => throw new NotSupportedException();
        public bool RemoveGrant(Grant grant) => throw new NotSupportedException();
    }

    private sealed class ServerLogin(ServerAccounts server) : IPasswordCheck
    {
        public bool AccountsAppearOutsideTheStore => true;

        public ValueTask<PasswordCheckOutcome> CheckAsync(Account account, ReadOnlyMemory<byte> password, CancellationToken cancellationToken) =>
            ValueTask.FromResult(server.Down ? PasswordCheckOutcome.Unavailable
                : Encoding.UTF8.GetString(password.Span) == account.Name + "-secret" ? PasswordCheckOutcome.Right : PasswordCheckOutcome.Wrong);
    }

    private static AuthenticationRequest Request(string user, string password) =>
        new("c1", user, Encoding.UTF8.GetBytes(password), new IPEndPoint(IPAddress.Loopback, 5000), "mqtt", null);

    [Fact]
    public async Task Known_and_unknown_names_get_server_unavailable_while_the_server_is_down_and_answers_after()
    {
        var server = new ServerAccounts();
        var directory = new AccountDirectory(server);
        using var auth = new AccountAuthenticator(directory, false, new LoginLimiter(TimeProvider.System), TimeProvider.System, new ServerLogin(server));

        server.Down = true;
        Assert.Equal(ReasonCode.ServerUnavailable, (await auth.AuthenticateAsync(Request("ada", "ada-secret"), default)).ReasonCode);
        Assert.Equal(ReasonCode.ServerUnavailable, (await auth.AuthenticateAsync(Request("ada", "guess"), default)).ReasonCode);
        Assert.Equal(ReasonCode.ServerUnavailable, (await auth.AuthenticateAsync(Request("cleo", "cleo-secret"), default)).ReasonCode);

        // Back, with cleo created by the administrator meanwhile.
        server.Users.Add(new Account("cleo", "server-side", DateTimeOffset.UnixEpoch));
        server.Down = false;
        Assert.True((await auth.AuthenticateAsync(Request("cleo", "cleo-secret"), default)).Succeeded);
        Assert.True((await auth.AuthenticateAsync(Request("ada", "ada-secret"), default)).Succeeded);
        Assert.Equal(ReasonCode.BadUserNameOrPassword, (await auth.AuthenticateAsync(Request("nobody", "x"), default)).ReasonCode);
    }
}

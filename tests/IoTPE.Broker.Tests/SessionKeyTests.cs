using IoTPE.Broker.Security;
using IoTPE.Broker.Sessions;

namespace IoTPE.Broker.Tests;

public class SessionKeyTests
{
    [Theory]
    [InlineData("alice", "gateway-line-7", "alice:gateway-line-7")]
    [InlineData(null, "gateway-line-7", "gateway-line-7")]
    [InlineData("alice", "aa:bb:cc", "alice:aa:bb:cc")]
    [InlineData(null, "alice:x", ":alice:x")]
    [InlineData(null, ":x", "::x")]
    public void A_client_identifier_is_scoped_by_its_account(string? account, string clientId, string key)
    {
        Assert.Equal(key, SessionKey.For(account, clientId));
        Assert.Equal(clientId, SessionKey.ClientIdOf(key));
    }

    [Fact]
    public void In_process_clients_keep_their_identifier()
    {
        var engine = new ClientIdentity("$iotpe/engine", null, null, ClientIdentity.InternalListener);
        Assert.Equal("$iotpe/engine", SessionKey.For(engine));
        Assert.Equal("$iotpe/engine", SessionKey.ClientIdOf("$iotpe/engine"));
    }

    [Fact]
    public void An_anonymous_client_can_never_name_an_accounts_session()
    {
        // An anonymous key has no ':' or starts with one; an account's key has one and never starts with it.
        Assert.NotEqual(SessionKey.For("alice", "x"), SessionKey.For(null, "alice:x"));
        Assert.NotEqual(SessionKey.For("alice", "x"), SessionKey.For(null, "x"));
    }

    [Theory]
    [InlineData("alice", true)]
    [InlineData("", false)]
    [InlineData("a:b", false)]
    [InlineData("$iotpe", false)]
    public void Only_names_that_keep_scopes_apart_can_scope(string account, bool valid) =>
        Assert.Equal(valid, SessionKey.IsValidScope(account));
}

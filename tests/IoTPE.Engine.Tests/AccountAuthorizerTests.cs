using IoTPE.Broker.Security;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Security;
using IoTPE.Engine.Storage.Sqlite;

namespace IoTPE.Engine.Tests;

/// <summary>The authorizer over a real SQLite account store.</summary>
public sealed class AccountAuthorizerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("iotpe-accounts-").FullName;
    private readonly SqliteEngineDatabase _database;
    private readonly SqliteAccountStore _store;
    private readonly AccountDirectory _directory;
    private readonly AccountAuthorizer _authorizer;

    public AccountAuthorizerTests()
    {
        _database = new SqliteEngineDatabase(_folder);
        _store = new SqliteAccountStore(_database);
        _store.AddAccount(new Account("owner", PasswordHasher.Hash("x", 10), DateTimeOffset.UtcNow));
        _store.AddAccount(new Account("other", PasswordHasher.Hash("x", 10), DateTimeOffset.UtcNow));
        _directory = new AccountDirectory(_store);
        _authorizer = new AccountAuthorizer(_directory);
    }

    public void Dispose()
    {
        _database.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static ClientIdentity As(string? account) => new("client", account, null, "mqtt");

    private void Grant(GrantKind kind, string filter)
    {
        _store.AddGrant(new Grant("owner", "other", kind, filter));
        _directory.ReloadIfChanged();
    }

    [Fact]
    public void An_account_owns_its_namespace_and_nothing_else()
    {
        Assert.True(_authorizer.CanPublish(As("owner"), "/owner/a/b"));
        Assert.True(_authorizer.CanSubscribe(As("owner"), "/owner/#"));
        Assert.True(_authorizer.CanReceive(As("owner"), "/owner/a"));
        Assert.False(_authorizer.CanPublish(As("owner"), "/other/a"));
        Assert.False(_authorizer.CanPublish(As("owner"), "public/topic"));
        Assert.False(_authorizer.CanSubscribe(As("owner"), "#"));
        Assert.False(_authorizer.CanSubscribe(As("owner"), "/+/a"));
        Assert.False(_authorizer.CanReceive(As("owner"), "/other/a"));
    }

    [Fact]
    public void Grants_open_exactly_what_they_name()
    {
        Grant(GrantKind.Subscribe, "sensors/#");
        Grant(GrantKind.Publish, "commands/lamp");
        Assert.True(_authorizer.CanSubscribe(As("other"), "/owner/sensors/#"));
        Assert.True(_authorizer.CanSubscribe(As("other"), "/owner/sensors/+/temp"));
        Assert.False(_authorizer.CanSubscribe(As("other"), "/owner/#"));
        Assert.True(_authorizer.CanReceive(As("other"), "/owner/sensors/kitchen"));
        Assert.False(_authorizer.CanReceive(As("other"), "/owner/secrets"));
        Assert.True(_authorizer.CanPublish(As("other"), "/owner/commands/lamp"));
        Assert.False(_authorizer.CanPublish(As("other"), "/owner/commands/door"));
        Assert.False(_authorizer.CanPublish(As("other"), "/owner/sensors/kitchen")); // subscribe grant is not publish
    }

    [Fact]
    public void A_revoke_takes_effect_on_the_next_delivery()
    {
        Grant(GrantKind.Subscribe, "mytopic");
        Assert.True(_authorizer.CanReceive(As("other"), "/owner/mytopic"));
        _store.RemoveGrant(new Grant("owner", "other", GrantKind.Subscribe, "mytopic"));
        _directory.ReloadIfChanged();
        Assert.False(_authorizer.CanReceive(As("other"), "/owner/mytopic"));
    }

    [Fact]
    public void Anonymous_clients_stay_outside_every_account_namespace()
    {
        Assert.True(_authorizer.CanPublish(As(null), "public/x"));
        Assert.False(_authorizer.CanPublish(As(null), "/owner/x"));
        Assert.True(_authorizer.CanSubscribe(As(null), "public/#"));
        Assert.False(_authorizer.CanSubscribe(As(null), "/owner/#"));
        Assert.False(_authorizer.CanSubscribe(As(null), "/#"));
        Assert.True(_authorizer.CanReceive(As(null), "public/x"));
        Assert.False(_authorizer.CanReceive(As(null), "/owner/x"));
    }

    [Fact]
    public void Anonymous_clients_cannot_plant_into_the_namespace_of_an_account_not_created_yet()
    {
        // The grammar reserves the namespace, not the list of accounts: a retained message put at
        // /nobody/config now would otherwise reach an account created under that name later.
        Assert.False(_authorizer.CanPublish(As(null), "/nobody/config"));
        Assert.False(_authorizer.CanPublish(As(null), "//x"));
        Assert.False(_authorizer.CanSubscribe(As(null), "/nobody/#"));
        Assert.False(_authorizer.CanReceive(As(null), "/nobody/config"));
    }

    [Fact]
    public void Anonymous_wildcards_are_accepted_but_never_deliver_into_the_accounts_space()
    {
        // As '#' never delivers $SYS (MQTT 5.0 §4.7.2): the plain open broker keeps its '#'.
        Assert.True(_authorizer.CanSubscribe(As(null), "#"));
        Assert.True(_authorizer.CanSubscribe(As(null), "+/+/x"));
        Assert.False(_authorizer.CanReceive(As(null), "/owner/a/x"));
        Assert.True(_authorizer.CanReceive(As(null), "a/b/x"));
    }

    [Fact]
    public void Sys_topics_are_readable_by_all()
    {
        Assert.True(_authorizer.CanSubscribe(As("owner"), "$SYS/broker/#"));
        Assert.True(_authorizer.CanSubscribe(As(null), "$SYS/#"));
        Assert.False(_authorizer.CanSubscribe(As("owner"), "$other/#"));
        Assert.True(_authorizer.CanReceive(As("owner"), "$SYS/broker/uptime"));
    }

    [Fact]
    public void A_removed_account_loses_everything_while_connected()
    {
        _store.RemoveAccount("owner");
        _directory.ReloadIfChanged();
        Assert.False(_authorizer.CanPublish(As("owner"), "/owner/a"));
        Assert.False(_authorizer.CanReceive(As("owner"), "/owner/a"));
    }
}

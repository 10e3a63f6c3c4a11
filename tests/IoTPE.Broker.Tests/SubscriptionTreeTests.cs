using IoTPE.Broker.Routing;
using IoTPE.Broker.Security;
using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Tests;

public class SubscriptionTreeTests
{
    private readonly SubscriptionTree _tree = new();

    private static Session NewSession(string id) => new(id, new ClientIdentity(id, null, null, "test"));

    private Subscription Add(string filter, Session? session = null, string? share = null)
    {
        session ??= NewSession(filter);
        var subscription = new Subscription(session, share is null ? filter : $"$share/{share}/{filter}", filter, share)
        {
            Options = new SubscriptionOptions(QualityOfService.AtLeastOnce),
        };
        _tree.Add(subscription);
        return subscription;
    }

    private string[] Match(string topic)
    {
        var subscriptions = new List<Subscription>();
        var groups = new List<SharedSubscriptionGroup>();
        _tree.Match(topic, subscriptions, groups);
        return [.. subscriptions.Select(s => s.Filter).Order(StringComparer.Ordinal)];
    }

    [Theory]
    [InlineData("sport/tennis/player1", new[] { "#", "sport/#", "sport/tennis/#", "sport/tennis/+", "sport/tennis/player1", "sport/+/player1", "+/+/+" })]
    [InlineData("sport/tennis", new[] { "#", "sport/#", "sport/tennis/#", "sport/+", "+/+" })]
    [InlineData("sport", new[] { "#", "sport/#", "+" })]
    [InlineData("/finance", new[] { "#", "+/+", "/+" })]
    [InlineData("sport/", new[] { "#", "sport/#", "sport/+", "+/+" })]
    public void Matching_follows_the_specification(string topic, string[] expected)
    {
        foreach (string filter in new[] { "#", "+", "+/+", "+/+/+", "/+", "sport/#", "sport/+", "sport/tennis/#", "sport/tennis/+", "sport/tennis/player1", "sport/+/player1", "other/#" })
        {
            Add(filter);
        }
        Assert.Equal(expected.Order(StringComparer.Ordinal), Match(topic));
    }

    [Fact]
    public void Wildcards_at_the_first_level_do_not_match_dollar_topics()
    {
        Add("#");
        Add("+/broker/uptime");
        Add("$SYS/#");
        Add("$SYS/+/uptime");
        Assert.Equal(["$SYS/#", "$SYS/+/uptime"], Match("$SYS/broker/uptime"));
    }

    [Fact]
    public void Removing_prunes_and_stops_matching()
    {
        Subscription a = Add("a/b/c");
        Subscription b = Add("a/+/c");
        Assert.Equal(2, _tree.Count);
        Assert.True(_tree.Remove(a));
        Assert.False(_tree.Remove(a));
        Assert.Equal(["a/+/c"], Match("a/b/c"));
        Assert.True(_tree.Remove(b));
        Assert.Empty(Match("a/b/c"));
        Assert.Equal(0, _tree.Count);
    }

    [Fact]
    public void Shared_subscriptions_are_grouped_and_picked_round_robin()
    {
        Session s1 = NewSession("s1"), s2 = NewSession("s2");
        Add("jobs/#", s1, share: "workers");
        Add("jobs/#", s2, share: "workers");
        var subscriptions = new List<Subscription>();
        var groups = new List<SharedSubscriptionGroup>();
        _tree.Match("jobs/1", subscriptions, groups);
        Assert.Empty(subscriptions);
        SharedSubscriptionGroup group = Assert.Single(groups);
        // Nobody is connected: members are still picked in turn (their sessions queue the message).
        var picked = new[] { group.Pick().Session.ClientId, group.Pick().Session.ClientId, group.Pick().Session.ClientId };
        Assert.Equal(["s1", "s2", "s1"], picked);
    }

    [Fact]
    public void A_share_name_used_by_two_accounts_is_two_groups()
    {
        static Session As(string account, string id) => new(SessionKey.For(account, id), new ClientIdentity(id, account, null, "test"));
        Subscription alice1 = Add("/alice/jobs/#", As("alice", "w1"), share: "workers");
        Add("/alice/jobs/#", As("alice", "w2"), share: "workers");
        Subscription bob = Add("/alice/jobs/#", As("bob", "w1"), share: "workers");
        var groups = new List<SharedSubscriptionGroup>();
        _tree.Match("/alice/jobs/1", [], groups);
        Assert.Equal(["alice", "bob"], groups.Select(g => g.GroupKey.Account).Order(StringComparer.Ordinal));
        Assert.Equal(2, groups.Single(g => g.GroupKey.Account == "alice").Members.Count);

        Assert.True(_tree.Remove(bob));
        Assert.True(_tree.Remove(alice1));
        groups.Clear();
        _tree.Match("/alice/jobs/1", [], groups);
        Assert.Equal("alice:w2", Assert.Single(Assert.Single(groups).Members).Session.ClientId);
    }
}

using IoTPE.Broker.Routing;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Tests;

public class RetainedMessageTreeTests
{
    private readonly RetainedMessageTree _tree = new();

    private void Retain(string topic) => _tree.Set(new ApplicationMessage(topic, "x"u8.ToArray(), QualityOfService.AtMostOnce, retain: true));

    private string[] Match(string filter)
    {
        var results = new List<ApplicationMessage>();
        _tree.Match(filter, results);
        return [.. results.Select(m => m.Topic).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public void Filters_find_the_retained_messages_they_match()
    {
        foreach (string topic in new[] { "home/kitchen/temp", "home/kitchen/humidity", "home/hall/temp", "home", "garden/temp", "$SYS/broker/uptime" })
        {
            Retain(topic);
        }
        Assert.Equal(["home/hall/temp", "home/kitchen/temp"], Match("home/+/temp"));
        Assert.Equal(["home", "home/hall/temp", "home/kitchen/humidity", "home/kitchen/temp"], Match("home/#"));
        Assert.Equal(["garden/temp", "home", "home/hall/temp", "home/kitchen/humidity", "home/kitchen/temp"], Match("#"));
        Assert.Equal(["$SYS/broker/uptime"], Match("$SYS/#"));
        Assert.Equal(["home"], Match("home"));
        Assert.Empty(Match("+/temp/+"));
    }

    [Fact]
    public void Setting_replaces_and_removing_clears()
    {
        Retain("a/b");
        ApplicationMessage? replaced = _tree.Set(new ApplicationMessage("a/b", "y"u8.ToArray(), QualityOfService.AtMostOnce, retain: true));
        Assert.NotNull(replaced);
        Assert.Equal(1, _tree.Count);
        Assert.NotNull(_tree.Remove("a/b"));
        Assert.Null(_tree.Remove("a/b"));
        Assert.Equal(0, _tree.Count);
        Assert.Empty(Match("#"));
    }

    [Fact]
    public void Each_level_counts_the_bytes_retained_at_and_below_it_through_replace_and_remove()
    {
        _tree.Set(new ApplicationMessage("/alice/a", new byte[100], QualityOfService.AtMostOnce, retain: true)); // 8 + 100
        _tree.Set(new ApplicationMessage("/alice/b/c", new byte[50], QualityOfService.AtMostOnce, retain: true)); // 10 + 50
        _tree.Set(new ApplicationMessage("/alice", new byte[1], QualityOfService.AtMostOnce, retain: true)); // 6 + 1
        _tree.Set(new ApplicationMessage("/bob/a", new byte[1000], QualityOfService.AtMostOnce, retain: true));
        Assert.Equal(108 + 60 + 7, _tree.BytesUnder("/alice"));
        Assert.Equal(60, _tree.BytesUnder("/alice/b"));
        Assert.Equal(0, _tree.BytesUnder("/carol"));

        _tree.Set(new ApplicationMessage("/alice/a", new byte[10], QualityOfService.AtMostOnce, retain: true));
        Assert.Equal(18 + 60 + 7, _tree.BytesUnder("/alice"));
        _tree.Remove("/alice/b/c");
        Assert.Equal(18 + 7, _tree.BytesUnder("/alice"));
        Assert.Equal(1006, _tree.BytesUnder("/bob"));

        var under = new List<ApplicationMessage>();
        _tree.CollectUnder("/alice", under);
        Assert.Equal(["/alice", "/alice/a"], under.Select(m => m.Topic).Order(StringComparer.Ordinal));
    }
}

using System.Text;

namespace IoTPE.Mqtt.Tests;

/// <summary>Topic names, topic filters, shared subscriptions and matching (spec 4.7, 4.8), incl. the spec's examples.</summary>
public sealed class TopicTests
{
    [Theory]
    [InlineData("a", true)]
    [InlineData("/", true)]
    [InlineData("a//b", true)]
    [InlineData(" ", true)]
    [InlineData("sport/tennis/player1", true)]
    [InlineData("$SYS/broker/uptime", true)]
    [InlineData("ünïcode/𝄞", true)]
    [InlineData("", false)]
    [InlineData("sport/+", false)]
    [InlineData("sport/#", false)]
    [InlineData("+", false)]
    [InlineData("a#b", false)]
    [InlineData("a\0b", false)]
    public void Topic_name_validation(string topic, bool valid)
    {
        Assert.Equal(valid, TopicName.IsValid(topic));
        Assert.Equal(valid, TopicName.IsValid(Encoding.UTF8.GetBytes(topic)));
    }

    [Fact]
    public void Unpaired_surrogates_are_invalid_in_names_and_filters()
    {
        // Not theory data: xunit's serialization would replace a lone surrogate with U+FFFD.
        Assert.False(TopicName.IsValid("a\ud800"));
        Assert.False(TopicName.IsValid("\udc00a"));
        Assert.False(TopicFilter.IsValid("a/\ud800/#"));
        Assert.False(SharedSubscription.TryParse("$share/g\udc00/a", out _));
        Assert.True(TopicName.IsValid("a\ud834\udd1e"));
    }

    [Fact]
    public void Topic_name_length_is_limited_to_65535_utf8_bytes()
    {
        Assert.True(TopicName.IsValid(new string('a', 65535)));
        Assert.False(TopicName.IsValid(new string('a', 65536)));
        Assert.False(TopicName.IsValid(new string('é', 32768)));
        Assert.False(TopicName.IsValid(new byte[65536].AsSpan().ToArray().Select(_ => (byte)'a').ToArray()));
        Assert.False(TopicName.IsValid([0xff]));
        Assert.False(TopicName.IsValid([0xed, 0xa0, 0x80]));
    }

    [Theory]
    [InlineData("#", true)]
    [InlineData("+", true)]
    [InlineData("sport/#", true)]
    [InlineData("sport/tennis/#", true)]
    [InlineData("sport/tennis/player1/#", true)]
    [InlineData("+/tennis/#", true)]
    [InlineData("sport/+/player1", true)]
    [InlineData("+/+", true)]
    [InlineData("/+", true)]
    [InlineData("a//b", true)]
    [InlineData("$SYS/#", true)]
    [InlineData("$share", true)]
    [InlineData("$sharefoo/+", true)]
    [InlineData("$share/group/a/b", true)]
    [InlineData("$share/group/#", true)]
    [InlineData("$share/group/+/x", true)]
    [InlineData("", false)]
    [InlineData("sport/tennis#", false)]
    [InlineData("sport/tennis/#/ranking", false)]
    [InlineData("#/a", false)]
    [InlineData("sport+", false)]
    [InlineData("sport/+tennis", false)]
    [InlineData("a\0", false)]
    [InlineData("$share/group", false)]
    [InlineData("$share/group/", false)]
    [InlineData("$share//a", false)]
    [InlineData("$share/gr+oup/a", false)]
    [InlineData("$share/#/a", false)]
    [InlineData("$share/g/a/#/b", false)]
    public void Topic_filter_validation(string filter, bool valid)
    {
        Assert.Equal(valid, TopicFilter.IsValid(filter));
        Assert.Equal(valid, TopicFilter.IsValid(Encoding.UTF8.GetBytes(filter)));
    }

    [Theory]
    // Spec 4.7.1.2: multi-level wildcard.
    [InlineData("sport/tennis/player1/#", "sport/tennis/player1", true)]
    [InlineData("sport/tennis/player1/#", "sport/tennis/player1/ranking", true)]
    [InlineData("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true)]
    [InlineData("sport/#", "sport", true)]
    [InlineData("#", "sport/tennis", true)]
    [InlineData("#", "/", true)]
    // Spec 4.7.1.3: single-level wildcard.
    [InlineData("sport/tennis/+", "sport/tennis/player1", true)]
    [InlineData("sport/tennis/+", "sport/tennis/player2", true)]
    [InlineData("sport/tennis/+", "sport/tennis/player1/ranking", false)]
    [InlineData("sport/+", "sport", false)]
    [InlineData("sport/+", "sport/", true)]
    [InlineData("+/+", "/finance", true)]
    [InlineData("/+", "/finance", true)]
    [InlineData("+", "/finance", false)]
    [InlineData("+/+", "/", true)]
    [InlineData("a/+/c", "a//c", true)]
    [InlineData("+/tennis/#", "sport/tennis/player1", true)]
    [InlineData("+/tennis/#", "sport/tennis", true)]
    // Spec 4.7.2: topics beginning with $.
    [InlineData("#", "$SYS/monitor/Clients", false)]
    [InlineData("+/monitor/Clients", "$SYS/monitor/Clients", false)]
    [InlineData("$SYS/#", "$SYS/monitor/Clients", true)]
    [InlineData("$SYS/monitor/+", "$SYS/monitor/Clients", true)]
    [InlineData("$SYS", "$SYS", true)]
    [InlineData("a/#", "a/$SYS", true)]
    // Spec 4.7.3: exact, case-sensitive levels.
    [InlineData("ACCOUNTS", "Accounts", false)]
    [InlineData("a/b", "a/b", true)]
    [InlineData("a/b", "a/b/", false)]
    [InlineData("a/b", "a", false)]
    [InlineData("a", "a/b", false)]
    [InlineData("ünï/+", "ünï/𝄞", true)]
    public void Matching_follows_spec_4_7(string filter, string topic, bool matches)
    {
        Assert.Equal(matches, TopicFilter.Matches(filter, topic));
        Assert.Equal(matches, TopicFilter.Matches(Encoding.UTF8.GetBytes(filter), Encoding.UTF8.GetBytes(topic)));
    }

    [Theory]
    [InlineData("$share/consumer1/sport/tennis/+", "consumer1", "sport/tennis/+")]
    [InlineData("$share/g/#", "g", "#")]
    [InlineData("$share/ünï/a//b", "ünï", "a//b")]
    public void Shared_subscriptions_split_into_share_name_and_filter(string filter, string shareName, string topicFilter)
    {
        Assert.True(SharedSubscription.IsShared(filter));
        Assert.True(SharedSubscription.TryParse(filter, out SharedSubscription shared));
        Assert.Equal(new SharedSubscription(shareName, topicFilter), shared);
        Assert.Equal(filter, shared.ToString());
    }

    [Theory]
    [InlineData("sport/tennis")]
    [InlineData("$share")]
    [InlineData("$share/")]
    [InlineData("$share/g")]
    [InlineData("$share//x")]
    [InlineData("$share/g+/x")]
    [InlineData("$share/g/x#")]
    public void Invalid_or_plain_filters_are_not_shared_subscriptions(string filter) =>
        Assert.False(SharedSubscription.TryParse(filter, out _));

    [Fact]
    public void Dollar_topics_and_wildcards_are_recognised()
    {
        Assert.True(TopicName.IsDollarTopic("$SYS/x"));
        Assert.False(TopicName.IsDollarTopic("SYS/$x"));
        Assert.True(TopicName.IsDollarTopic("$share"u8));
        Assert.True(TopicFilter.HasWildcards("a/+"));
        Assert.False(TopicFilter.HasWildcards("a/b"));
    }
}

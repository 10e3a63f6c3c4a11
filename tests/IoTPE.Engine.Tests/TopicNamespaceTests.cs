using IoTPE.Engine.Security;

namespace IoTPE.Engine.Tests;

public class TopicNamespaceTests
{
    [Theory]
    [InlineData("/acme/x", "acme")]
    [InlineData("/acme", "acme")]
    [InlineData("/acme/", "acme")]
    [InlineData("acme/x", null)]
    [InlineData("/", null)]
    [InlineData("//acme", "")]
    public void Owner_is_the_second_level_after_a_leading_slash(string topic, string? owner) =>
        Assert.Equal(owner, TopicNamespace.OwnerOf(topic));

    [Theory]
    [InlineData("/a/x", "/a/#", true)]
    [InlineData("/a", "/a/#", true)]
    [InlineData("/a/+/t", "/a/#", true)]
    [InlineData("/a/#", "/a/#", true)]
    [InlineData("/a/s/t", "/a/s/+", true)]
    [InlineData("/a/s/+", "/a/s/+", true)]
    [InlineData("/a/s", "/a/s", true)]
    [InlineData("/a/#", "/a/+", false)]
    [InlineData("/a/s/#", "/a/s", false)]
    [InlineData("/+/x", "/a/#", false)]
    [InlineData("#", "/a/#", false)]
    [InlineData("/a/s/t/u", "/a/s/+", false)]
    [InlineData("/ab/x", "/a/#", false)]
    [InlineData("/a/x", "/a/y", false)]
    public void Covered_means_every_matching_topic_also_matches(string filter, string covering, bool covered) =>
        Assert.Equal(covered, TopicNamespace.IsCoveredBy(filter, covering));

    [Theory]
    [InlineData("/acme/x", true)]
    [InlineData("/nobody-yet/config", true)]
    [InlineData("/", true)]
    [InlineData("//x", true)]
    [InlineData("/#", true)]
    [InlineData("acme/x", false)]
    [InlineData("#", false)]
    [InlineData("+/x", false)]
    [InlineData("$SYS/broker", false)]
    public void Every_topic_starting_with_a_slash_is_the_accounts_space(string topic, bool reserved) =>
        Assert.Equal(reserved, TopicNamespace.IsAccountSpace(topic));
}

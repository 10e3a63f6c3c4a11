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
    [InlineData("#", "a", true)]
    [InlineData("+/#", "a", true)]
    [InlineData("/#", "a", true)]
    [InlineData("/+/x", "a", true)]
    [InlineData("/a/x", "a", true)]
    [InlineData("/b/x", "a", false)]
    [InlineData("plain/#", "a", false)]
    [InlineData("+", "a", false)]
    public void Could_reach_tells_whether_a_filter_can_match_inside_a_namespace(string filter, string account, bool reach) =>
        Assert.Equal(reach, TopicNamespace.CouldReach(filter, account));
}

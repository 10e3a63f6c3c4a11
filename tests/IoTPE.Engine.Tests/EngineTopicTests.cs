namespace IoTPE.Engine.Tests;

/// <summary>The engine's topic grammar, including the quick refusal of topics that are a device's.</summary>
public class EngineTopicTests
{
    [Theory]
    [InlineData("/acme/run/rule", "Run", "acme", "rule", null)]
    [InlineData("/acme/runfile/daily", "RunFile", "acme", "daily", null)]
    [InlineData("/acme/cmd/open", "Command", "acme", "open", null)]
    [InlineData("/acme/cmd/open/cancel", "CommandCancel", "acme", "open", null)]
    [InlineData("/acme/run/", "Run", "acme", "", null)]
    [InlineData("//run/rule", "Run", "", "rule", null)]
    [InlineData("/acme/grant_sub_topic", "GrantControl", "acme", null, "grant_sub_topic")]
    [InlineData("/acme/revoke_pub_topic", "GrantControl", "acme", null, "revoke_pub_topic")]
    [InlineData("/acme/script/list", "ScriptControl", "acme", null, "list")]
    [InlineData("/acme/script/load/rule", "ScriptControl", "acme", "rule", "load")]
    public void Parses_the_engine_s_topics(string topic, string kind, string account, string? name, string? request)
    {
        Assert.True(EngineTopic.TryParse(topic, out EngineTopic parsed));
        Assert.Equal(new EngineTopic(Enum.Parse<EngineTopicKind>(kind), account, name, request), parsed);
    }

    [Theory]
    [InlineData("/acme")]
    [InlineData("/acme/")]
    [InlineData("/acme/run")]
    [InlineData("/acme/run/rule/extra")]
    [InlineData("/acme/sensors/run/rule")]
    [InlineData("/acme/running/rule")]
    [InlineData("/acme/grant_everything")]
    [InlineData("/acme/grant_sub_topic/x")]
    [InlineData("/acme/script/load")]
    [InlineData("/acme/script/list/x")]
    [InlineData("/acme/cmd/open/stop")]
    [InlineData("acme/run/rule")]
    [InlineData("/")]
    public void Refuses_every_other_topic(string topic) => Assert.False(EngineTopic.TryParse(topic, out _));
}

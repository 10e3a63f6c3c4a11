using IoTPE.Engine.Accounts;

namespace IoTPE.Engine.Tests;

public class AccountNameTests
{
    [Theory]
    [InlineData("3ea8f06baf64")]
    [InlineData("gateway_7")]
    [InlineData("site-a.line-2")]
    [InlineData("A")]
    public void Accepts_names_that_are_safe_as_topic_levels(string name) => Assert.True(AccountName.IsValid(name));

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a+b")]
    [InlineData("a#")]
    [InlineData("$SYS")]
    [InlineData(".hidden")]
    [InlineData("-dash")]
    [InlineData("with space")]
    [InlineData("bjørn")]
    [InlineData("a\u0000b")]
    public void Refuses_names_that_could_escape_a_namespace(string name)
    {
        Assert.False(AccountName.IsValid(name, out string? problem));
        Assert.False(string.IsNullOrEmpty(problem));
    }

    [Fact]
    public void Refuses_names_longer_than_64()
    {
        Assert.True(AccountName.IsValid(new string('a', 64)));
        Assert.False(AccountName.IsValid(new string('a', 65)));
    }
}

using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// The seed's user model with MQTT.js's <c>mqtt</c> command exactly as the seed uses it, against the
/// published binary: accounts, grants, revokes (<see cref="SeedWalkthrough"/>, shared with the
/// central's <see cref="CentralWalkthroughTests"/>), refused logins and namespace escapes.
/// </summary>
public sealed class AccountsAndGrantsTests : IAsyncLifetime
{
    private const string Owner = SeedWalkthrough.Owner;
    private const string Other = SeedWalkthrough.Other;
    private IotpeServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await IotpeServer.StartAsync(allowAnonymous: false);
        await _server.AddAccountAsync(Owner, "secret");
        await _server.AddAccountAsync(Other, "secret");
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 2 accounts"), _server.Output);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private SeedWalkthrough Seed => new(_server.Port);

    private OutputCollector Sub(string user, string topic) => Seed.Sub(user, topic);

    private Task<OutputCollector> SubscribedAsync(string user, string topic) => Seed.SubscribedAsync(user, topic);

    private Task AwaitSentinelAsync(OutputCollector subscriber, string user, string topic) => Seed.AwaitSentinelAsync(subscriber, user, topic);

    private Task<ProcessRun> Pub(string user, string topic, string message) => Seed.Pub(user, topic, message);

    private Task<string> GrantAsync(string action, string json) => Seed.GrantAsync(action, json);

    [Fact]
    public Task The_seeds_walkthrough_works_verbatim() =>
        Seed.RunGrantSequenceAsync(owner => _server.CommandAsync(["grant", "list", owner]));

    [Fact]
    public async Task Grants_persist_across_a_restart_and_are_listed()
    {
        await GrantAsync("grant_sub_topic", $$"""{"name":"sensors/#","accountId":"{{Other}}"}""");
        _server.Kill();
        await _server.RestartAsync();
        ProcessRun list = await _server.CommandAsync(["grant", "list", Other]);
        Assert.Contains($"subscribe /{Owner}/sensors/#", list.StandardOutput, StringComparison.Ordinal);
        using OutputCollector sub = await SubscribedAsync(Other, $"/{Owner}/sensors/+/temp");
        await Pub(Owner, $"/{Owner}/sensors/kitchen/temp", "21.5");
        Assert.True(await sub.WaitForLineAsync(l => l == $"/{Owner}/sensors/kitchen/temp 21.5"), sub.Error);
    }

    [Theory]
    [InlineData("{\"name\":\"x\",\"accountId\":\"nobody\"}", "unknown account 'nobody'")]
    [InlineData("{not json", "malformed JSON")]
    [InlineData("{\"name\":\"a/#/b\",\"accountId\":\"6adb637f9cf2\"}", "is not a topic filter")]
    [InlineData("{\"accountId\":\"6adb637f9cf2\"}", "(a topic below your namespace) is missing")]
    public async Task Bad_control_requests_get_a_clear_error(string request, string error)
    {
        string result = await GrantAsync("grant_sub_topic", request);
        Assert.Contains("\"ok\":false", result, StringComparison.Ordinal);
        Assert.Contains(error, result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nobody_but_the_owner_changes_the_owners_grants()
    {
        // Even with a publish grant on the control topic, another account cannot grant itself rights.
        await GrantAsync("grant_pub_topic", $$"""{"name":"grant_sub_topic","accountId":"{{Other}}"}""");
        using OutputCollector results = await SubscribedAsync(Owner, $"/{Owner}/grant_result");
        await Pub(Other, $"/{Owner}/grant_sub_topic", $$"""{"name":"#","accountId":"{{Other}}"}""");
        Assert.True(await results.WaitForLineAsync(l => l.Contains("only the account", StringComparison.Ordinal)), string.Join('\n', results.Lines));
        ProcessRun list = await _server.CommandAsync(["grant", "list", Other]);
        Assert.DoesNotContain("subscribe", list.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mqttv311", "Connection Refused: bad user name or password.")]
    [InlineData("mqttv5", "Bad user name or password")]
    public async Task Wrong_password_is_refused_with_0x86_or_4_and_logged(string version, string message)
    {
        ProcessRun run = await MosquittoClients.PublishAsync(_server.Port, "-V", version, "-u", Owner, "-P", "wrong", "-t", "/x", "-m", "x");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(message, run.StandardError, StringComparison.OrdinalIgnoreCase);
        Assert.True(await _server.WaitForOutputAsync("BadUserNameOrPassword - wrong password for account"), _server.Output);
    }

    [Fact]
    public async Task Repeated_failures_from_one_address_are_rate_limited()
    {
        for (int i = 0; i < 5; i++)
        {
            await MosquittoClients.PublishAsync(_server.Port, "-u", Owner, "-P", "guess" + i, "-t", "/x", "-m", "x");
        }
        ProcessRun right = await MosquittoClients.PublishAsync(_server.Port, "-u", Owner, "-P", "secret", "-q", "1", "-t", $"/{Owner}/x", "-m", "x");
        Assert.NotEqual(0, right.ExitCode); // even the right password waits for the window to pass
        Assert.True(await _server.WaitForOutputAsync("too many failed logins"), _server.Output);
    }

    [Fact]
    public async Task Anonymous_clients_are_refused_by_default()
    {
        ProcessRun run = await MosquittoClients.PublishAsync(_server.Port, "-V", "mqttv5", "-t", "open/x", "-m", "x");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("Not authorized", run.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("#")]
    [InlineData("/#")]
    [InlineData("/+/mytopic")]
    [InlineData("+/+/mytopic")]
    [InlineData("/" + Owner + "/#")]
    [InlineData("$share/g/" + "/" + Owner + "/#")]
    [InlineData("$share/g/#")]
    [InlineData("//" + Owner + "/mytopic")]
    public async Task Escapes_from_the_namespace_are_refused_at_subscribe(string filter)
    {
        using OutputCollector sub = Sub(Other, filter);
        Assert.True(await sub.WaitForExitAsync(TimeSpan.FromSeconds(10)), "subscription was accepted: " + filter);
        Assert.Contains("Subscribe error", sub.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/" + Owner + "/mytopic")]
    [InlineData("/" + Owner)]
    [InlineData("//" + Owner + "/x")]
    [InlineData("outside/any/namespace")]
    public async Task Publishes_outside_the_own_namespace_never_arrive(string topic)
    {
        using OutputCollector owner = await SubscribedAsync(Owner, $"/{Owner}/#");
        await Pub(Other, topic, "escape");
        await AwaitSentinelAsync(owner, Owner, $"/{Owner}/sentinel");
        Assert.DoesNotContain(owner.Lines, l => l.Contains("escape", StringComparison.Ordinal));
        Assert.True(await _server.WaitForOutputAsync("Refused PUBLISH"), _server.Output);
    }

    [Fact]
    public async Task Dot_dot_levels_are_plain_names_and_lead_nowhere()
    {
        // MQTT topics have no path semantics: this filter lies inside the subscriber's own namespace.
        using OutputCollector sub = await SubscribedAsync(Other, $"/{Other}/../{Owner}/mytopic");
        await Pub(Owner, $"/{Owner}/mytopic", "owner data");
        await AwaitSentinelAsync(sub, Other, $"/{Other}/../{Owner}/mytopic");
        Assert.False(sub.HasExited, sub.Error);
        Assert.DoesNotContain(sub.Lines, l => l.Contains("owner data", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wildcard_subscriber_sees_only_its_own_namespace()
    {
        using OutputCollector other = await SubscribedAsync(Other, $"/{Other}/#");
        await Pub(Owner, $"/{Owner}/private", "owner data");
        await Pub(Other, $"/{Other}/mine", "own data");
        Assert.True(await other.WaitForLineAsync(l => l == $"/{Other}/mine own data"));
        Assert.DoesNotContain(other.Lines, l => l.Contains("owner data", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Overlong_and_non_ascii_account_names_are_refused_at_creation()
    {
        ProcessRun longName = await _server.CommandAsync(["account", "add", new string('a', 65), "--password-stdin"], "secret\n");
        Assert.NotEqual(0, longName.ExitCode);
        ProcessRun slash = await _server.CommandAsync(["account", "add", "a/b", "--password-stdin"], "secret\n");
        Assert.NotEqual(0, slash.ExitCode);
        ProcessRun wildcard = await _server.CommandAsync(["account", "add", "a+b", "--password-stdin"], "secret\n");
        Assert.NotEqual(0, wildcard.ExitCode);
        ProcessRun unicode = await _server.CommandAsync(["account", "add", "bjørn", "--password-stdin"], "secret\n");
        Assert.NotEqual(0, unicode.ExitCode);
        Assert.Contains("invalid account name", unicode.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Account_commands_manage_logins_of_a_running_engine()
    {
        ProcessRun duplicate = await _server.CommandAsync(["account", "add", Owner, "--password-stdin"], "secret\n");
        Assert.NotEqual(0, duplicate.ExitCode);
        Assert.Contains("already exists", duplicate.StandardError, StringComparison.Ordinal);

        ProcessRun noTerminal = await _server.CommandAsync(["account", "passwd", Owner], "");
        Assert.NotEqual(0, noTerminal.ExitCode);
        Assert.Contains("--password-stdin", noTerminal.StandardError, StringComparison.Ordinal);

        int reloads = _server.CountOutput("Accounts reloaded");
        Assert.Equal(0, (await _server.CommandAsync(["account", "passwd", Owner, "--password-stdin"], "n3w-Passw0rd\n")).ExitCode);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded", reloads + 1), _server.Output); // the engine notices within a second
        Assert.NotEqual(0, (await MosquittoClients.PublishAsync(_server.Port, "-u", Owner, "-P", "secret", "-q", "1", "-t", $"/{Owner}/x", "-m", "x")).ExitCode);
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, "-u", Owner, "-P", "n3w-Passw0rd", "-q", "1", "-t", $"/{Owner}/x", "-m", "x")).ExitCode);

        ProcessRun list = await _server.CommandAsync(["account", "list"]);
        Assert.Contains(Owner, list.StandardOutput, StringComparison.Ordinal);
        // Counted: the engine may have logged "1 accounts" before, when only the owner existed.
        int oneAccount = _server.CountOutput("Accounts reloaded: 1 accounts");
        Assert.Equal(0, (await _server.CommandAsync(["account", "remove", Other])).ExitCode);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 1 accounts", oneAccount + 1), _server.Output);
        Assert.NotEqual(0, (await MosquittoClients.PublishAsync(_server.Port, "-u", Other, "-P", "secret", "-q", "1", "-t", $"/{Other}/x", "-m", "x")).ExitCode);
    }
}

using System.Globalization;
using System.Text.Json.Nodes;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// One account cannot reach into another through what clients name themselves (issue 10, cases 7
/// and 8, and the anonymous part of case 6), with MQTT.js and mosquitto_pub against the published
/// binary: client identifiers and shared-subscription groups are scoped per account, a revoke
/// also reaches messages already in flight, and anonymous clients cannot plant anything in an
/// account's namespace, not even one created later.
/// </summary>
public sealed class TenantIsolationTests : IAsyncLifetime
{
    private const string Password = "secret";
    private IotpeServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await IotpeServer.StartAsync(allowAnonymous: true);
        await _server.AddAccountAsync("alice", Password);
        await _server.AddAccountAsync("bob", Password);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 2 accounts"), _server.Output);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private string Url => $"mqtt://127.0.0.1:{_server.Port}";

    /// <summary>An MQTT.js session (see node/mqtt5-session.js); persistent when <paramref name="sessionExpiry"/> is given.</summary>
    private JsonObject Plan(string? account, string clientId, JsonArray? subscribe = null, JsonArray? publish = null,
        int exitAfterMessages = 0, uint? sessionExpiry = null, bool withholdAcks = false, int stayMs = 15_000)
    {
        var plan = new JsonObject
        {
            ["url"] = Url, ["clientId"] = clientId, ["stayMs"] = stayMs, ["withholdAcks"] = withholdAcks,
            ["username"] = account, ["password"] = account is null ? null : Password,
            ["subscribe"] = subscribe ?? [], ["publish"] = publish ?? [],
        };
        if (exitAfterMessages > 0)
        {
            plan["exitAfterMessages"] = exitAfterMessages;
        }
        if (sessionExpiry is { } expiry)
        {
            plan["clean"] = false;
            plan["connectProperties"] = new JsonObject { ["sessionExpiryInterval"] = expiry };
        }
        return plan;
    }

    private static JsonArray Subscribe(params string[] filters) =>
        [.. filters.Select(f => (JsonNode)new JsonObject { ["topic"] = f, ["qos"] = 1 })];

    private static JsonArray Publish(string topic, string payload, bool retain = false) =>
        [new JsonObject { ["topic"] = topic, ["payload"] = payload, ["qos"] = 1, ["retain"] = retain }];

    private Task<ProcessRun> PublishLinesAsync(string account, string topic, string lines) => ProcessRun.RunAsync("mosquitto_pub",
        ["-h", "127.0.0.1", "-p", _server.Port.ToString(CultureInfo.InvariantCulture), "-u", account, "-P", Password, "-q", "1", "-t", topic, "-l"],
        TimeSpan.FromSeconds(20), lines);

    private static IEnumerable<JsonObject> Messages(OutputCollector session) => MqttSessionPlan.Events(session).OfKind("message");

    private static string Describe(OutputCollector session) => string.Join('\n', session.Lines) + session.Error;

    /// <summary>The owner changes a grant and waits for the answer on its grant_result topic.</summary>
    private async Task<string> ControlAsync(string owner, string action, string grantee, string name)
    {
        IReadOnlyList<JsonObject> events = await MqttSessionPlan.RunAsync(Plan(owner, owner + "-admin",
            subscribe: Subscribe($"/{owner}/grant_result"),
            publish: Publish($"/{owner}/{action}", $$"""{"name":"{{name}}","accountId":"{{grantee}}"}"""),
            exitAfterMessages: 1));
        return (string?)events.OfKind("message").Single()["payload"] ?? "";
    }

    [Fact]
    public async Task An_identifier_held_by_one_account_does_not_lock_out_another_or_an_anonymous_client()
    {
        // bob holds gateway-line-7 in a session that never expires, with a message queued in it.
        await MqttSessionPlan.RunAsync(Plan("bob", "gateway-line-7", subscribe: Subscribe("/bob/line/#"), sessionExpiry: uint.MaxValue, stayMs: 100));
        ProcessRun queued = await MosquittoClients.PublishAsync(_server.Port, "-u", "bob", "-P", Password, "-q", "1", "-t", "/bob/line/7", "-m", "for bob");
        Assert.True(queued.ExitCode == 0, queued.StandardError);

        // alice's device of the same name connects (before: refused, 0x87 / rc 5) ...
        ProcessRun alice = await MosquittoClients.PublishAsync(_server.Port, "-V", "mqttv311", "-i", "gateway-line-7", "-u", "alice", "-P", Password,
            "-q", "1", "-t", "/alice/line/7", "-m", "up");
        Assert.True(alice.ExitCode == 0, $"rc {alice.ExitCode}: {alice.StandardError}");
        // ... into a session of its own, as does an anonymous client of that name.
        foreach (string? account in (string?[])["alice", null])
        {
            IReadOnlyList<JsonObject> other = await MqttSessionPlan.RunAsync(Plan(account, "gateway-line-7", sessionExpiry: 60, stayMs: 100));
            JsonObject connack = Assert.Single(other.OfKind("connack"));
            Assert.Equal(0, (int?)connack["reasonCode"]);
            Assert.False((bool?)connack["sessionPresent"]);
            Assert.Empty(other.OfKind("message"));
        }

        // bob's session was neither taken over nor ended: its queued message is still there, also
        // after a crash and restart (the session is stored under its scoped key).
        _server.Kill();
        await _server.RestartAsync();
        IReadOnlyList<JsonObject> bob = await MqttSessionPlan.RunAsync(Plan("bob", "gateway-line-7", sessionExpiry: uint.MaxValue, exitAfterMessages: 1));
        Assert.True((bool?)bob.OfKind("connack").Single()["sessionPresent"]);
        Assert.Equal("for bob", (string?)bob.OfKind("message").Single()["payload"]);
    }

    [Fact]
    public async Task A_grantee_using_the_owners_share_name_forms_its_own_group_and_takes_no_jobs_from_the_owner()
    {
        Assert.Contains("\"ok\":true", await ControlAsync("alice", "grant_sub_topic", "bob", "jobs/#"), StringComparison.Ordinal);
        const string Shared = "$share/workers//alice/jobs/#";
        using OutputCollector worker1 = MqttSessionPlan.Start(Plan("alice", "alice-worker-1", subscribe: Subscribe(Shared)));
        using OutputCollector worker2 = MqttSessionPlan.Start(Plan("alice", "alice-worker-2", subscribe: Subscribe(Shared)));
        using OutputCollector intruder = MqttSessionPlan.Start(Plan("bob", "bob-worker", subscribe: Subscribe(Shared)));
        foreach (OutputCollector member in (OutputCollector[])[worker1, worker2, intruder])
        {
            JsonObject suback = (await MqttSessionPlan.WaitForAsync(member, "suback")).OfKind("suback").Single();
            Assert.Null((string?)suback["error"]); // bob may read alice's jobs: his grant allows it
        }

        const int Jobs = 12;
        string jobs = string.Join('\n', Enumerable.Range(1, Jobs).Select(i => "job-" + i.ToString(CultureInfo.InvariantCulture))) + "\n";
        ProcessRun publish = await PublishLinesAsync("alice", "/alice/jobs/build", jobs);
        Assert.True(publish.ExitCode == 0, publish.StandardError);

        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline && (Messages(worker1).Count() + Messages(worker2).Count() < Jobs || Messages(intruder).Count() < Jobs))
        {
            await Task.Delay(20);
        }
        // alice's group got every job exactly once; bob's own group got its own copy of each.
        string[] aliceJobs = [.. Messages(worker1).Concat(Messages(worker2)).Select(m => (string)m["payload"]!).Order(StringComparer.Ordinal)];
        Assert.True(aliceJobs.Length == Jobs, $"alice's workers got {aliceJobs.Length} of {Jobs} jobs:\n{Describe(worker1)}\n{Describe(worker2)}");
        Assert.Equal(Jobs, aliceJobs.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(Jobs, Messages(intruder).Count());
    }

    [Fact]
    public async Task A_revoke_drops_the_messages_in_flight_to_the_grantee_so_they_are_not_resent()
    {
        Assert.Contains("\"ok\":true", await ControlAsync("alice", "grant_sub_topic", "bob", "feed/#"), StringComparison.Ordinal);

        // bob receives three QoS 1 messages and never acknowledges them before he goes away.
        using (OutputCollector unacknowledged = MqttSessionPlan.Start(Plan("bob", "bob-feed", subscribe: Subscribe("/alice/feed/#", "/bob/marker"),
            sessionExpiry: 3600, withholdAcks: true, exitAfterMessages: 3)))
        {
            await MqttSessionPlan.WaitForAsync(unacknowledged, "suback");
            ProcessRun publish = await PublishLinesAsync("alice", "/alice/feed/price", "1\n2\n3\n");
            Assert.True(publish.ExitCode == 0, publish.StandardError);
            Assert.True(await unacknowledged.WaitForExitAsync(TimeSpan.FromSeconds(15)), Describe(unacknowledged));
            Assert.Equal(3, Messages(unacknowledged).Count());
        }

        Assert.Contains("\"ok\":true", await ControlAsync("alice", "revoke_sub_topic", "bob", "feed/#"), StringComparison.Ordinal);

        // bob comes back: nothing of alice's feed is resent, only his own marker arrives. Resent
        // messages would go out with the CONNACK, before the marker he publishes afterwards.
        IReadOnlyList<JsonObject> back = await MqttSessionPlan.RunAsync(Plan("bob", "bob-feed", publish: Publish("/bob/marker", "back"),
            sessionExpiry: 3600, exitAfterMessages: 1));
        Assert.True((bool?)back.OfKind("connack").Single()["sessionPresent"]);
        JsonObject first = back.OfKind("message").First();
        Assert.True((string?)first["topic"] == "/bob/marker", "resent after the revoke: " + first.ToJsonString());
        Assert.Contains("no longer authorized to receive (dropped from flight)", _server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_anonymous_client_cannot_plant_a_retained_message_for_an_account_created_later()
    {
        using (OutputCollector planter = MqttSessionPlan.Start(Plan(null, "planter", subscribe: Subscribe("/erin/#"),
            publish: Publish("/erin/config", """{"upstream":"evil.example"}""", retain: true))))
        {
            IReadOnlyList<JsonObject> planting = await MqttSessionPlan.WaitForAsync(planter, "published");
            Assert.NotNull((string?)planting.OfKind("suback").Single()["error"]); // SUBACK 0x87
            Assert.NotNull((string?)planting.OfKind("published").Single()["error"]); // PUBACK 0x87
        }

        await _server.AddAccountAsync("erin", Password);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 3 accounts"), _server.Output);
        ProcessRun marker = await MosquittoClients.PublishAsync(_server.Port, "-u", "erin", "-P", Password, "-q", "1", "-r", "-t", "/erin/marker", "-m", "mine");
        Assert.True(marker.ExitCode == 0, marker.StandardError);

        // Retained messages go out in the order of the filters: a planted /erin/config would come first.
        IReadOnlyList<JsonObject> erin = await MqttSessionPlan.RunAsync(Plan("erin", "erin-device", subscribe: Subscribe("/erin/config", "/erin/marker"), exitAfterMessages: 1));
        JsonObject first = erin.OfKind("message").First();
        Assert.True((string?)first["topic"] == "/erin/marker", "erin received a planted message: " + first.ToJsonString());
    }
}

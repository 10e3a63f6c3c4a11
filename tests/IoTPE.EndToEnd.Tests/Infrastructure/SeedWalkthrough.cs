using System.Globalization;

namespace IoTPE.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The seed's README with MQTT.js's <c>mqtt</c> command exactly as the seed uses it, against one
/// running iotpe (the edge on SQLite or the central on MariaDB): its accounts <see cref="Owner"/> and
/// <see cref="Other"/>, both with the password <c>secret</c>, and its grant/revoke sequence verbatim.
/// A subscriber that must be in place before a publish is waited for through MQTT.js's debug log (its
/// SUBACK); that a message does not arrive is shown by a later message on the same connection that does.
/// </summary>
internal sealed class SeedWalkthrough(int port)
{
    /// <summary>The seed's owner of <c>/3ea8f06baf64/mytopic</c>.</summary>
    public const string Owner = "3ea8f06baf64";

    /// <summary>The seed's account that is granted and revoked rights on the owner's topic.</summary>
    public const string Other = "6adb637f9cf2";

    /// <summary>The password the seed gives both accounts.</summary>
    public const string Password = "secret";

    private string Port => port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Starts <c>mqtt sub</c> without waiting for its SUBACK (for subscriptions that are refused).</summary>
    public OutputCollector Sub(string user, string topic, string password = Password) =>
        MqttJs.StartSubscriber(SubArguments(user, topic, password));

    /// <summary>Starts <c>mqtt sub</c> and returns once its SUBACK arrived.</summary>
    public Task<OutputCollector> SubscribedAsync(string user, string topic, string password = Password) =>
        MqttJs.StartSubscriberAsync(SubArguments(user, topic, password));

    private string[] SubArguments(string user, string topic, string password) =>
        ["--username", user, "-P", password, "-t", topic, "-h", "127.0.0.1", "-p", Port, "-v"];

    /// <summary><c>mqtt pub</c> at QoS 1, run to its end.</summary>
    public Task<ProcessRun> Pub(string user, string topic, string message, string password = Password) =>
        MqttJs.RunAsync("pub", "--username", user, "-P", password, "-t", topic, "-h", "127.0.0.1", "-p", Port, "-m", message, "-q", "1");

    /// <summary>
    /// Publishes a sentinel that <paramref name="subscriber"/> may receive and waits for it: the broker
    /// delivers to one connection in the order it routed, so anything published before the sentinel
    /// that has not arrived by then never will.
    /// </summary>
    public async Task AwaitSentinelAsync(OutputCollector subscriber, string user, string topic)
    {
        string sentinel = "sentinel-" + Guid.NewGuid().ToString("N");
        ProcessRun pub = await Pub(user, topic, sentinel);
        Assert.True(pub.ExitCode == 0, pub.StandardError);
        Assert.True(await subscriber.WaitForLineAsync(l => l == $"{topic} {sentinel}"), string.Join('\n', subscriber.Lines) + subscriber.Error);
    }

    /// <summary>Publishes a control request as the owner and returns the owner's <c>grant_result</c> for it.</summary>
    public async Task<string> GrantAsync(string action, string json)
    {
        using OutputCollector results = await SubscribedAsync(Owner, $"/{Owner}/grant_result");
        ProcessRun pub = await Pub(Owner, $"/{Owner}/{action}", json);
        Assert.True(pub.ExitCode == 0, pub.StandardError);
        Assert.True(await results.WaitForLineAsync(l => l.StartsWith($"/{Owner}/grant_result ", StringComparison.Ordinal)), results.Error);
        return results.Lines.First(l => l.StartsWith($"/{Owner}/grant_result ", StringComparison.Ordinal))[($"/{Owner}/grant_result ").Length..];
    }

    /// <summary>
    /// The seed's "Granting and revoking privileges" section, step by step, with what each step must
    /// (and must not) make possible; <paramref name="listGrants"/> runs <c>iotpe grant list</c> for
    /// the owner at the end.
    /// </summary>
    public async Task RunGrantSequenceAsync(Func<string, Task<ProcessRun>> listGrants)
    {
        // Before any grant the other account can neither subscribe nor publish.
        using (OutputCollector refused = Sub(Other, $"/{Owner}/mytopic"))
        {
            Assert.True(await refused.WaitForExitAsync(TimeSpan.FromSeconds(10)));
            Assert.Contains("Subscribe error", refused.Error, StringComparison.Ordinal);
        }
        using (OutputCollector ownerListening = await SubscribedAsync(Owner, $"/{Owner}/mytopic"))
        {
            await Pub(Other, $"/{Owner}/mytopic", "sneaky");
            await AwaitSentinelAsync(ownerListening, Owner, $"/{Owner}/mytopic");
            Assert.DoesNotContain(ownerListening.Lines, l => l.Contains("sneaky", StringComparison.Ordinal));
        }

        // # Grant 6adb637f9cf2 the right to subscribe to the topic mytopic (and to publish to it)
        Assert.Equal($$"""{"ok":true,"request":"grant_sub_topic","name":"mytopic","accountId":"{{Other}}"}""",
            await GrantAsync("grant_sub_topic", $$"""{"name":"mytopic","accountId":"{{Other}}"}"""));
        Assert.Equal($$"""{"ok":true,"request":"grant_pub_topic","name":"mytopic","accountId":"{{Other}}"}""",
            await GrantAsync("grant_pub_topic", $$"""{"name":"mytopic","accountId":"{{Other}}"}"""));

        // # Now 6adb637f9cf2 can both publish and subscribe to the topic 3ea8f06baf64/mytopic
        using OutputCollector sub = await SubscribedAsync(Other, $"/{Owner}/mytopic");
        ProcessRun pub = await Pub(Other, $"/{Owner}/mytopic", "{data: \"My data\"}");
        Assert.True(pub.ExitCode == 0, pub.StandardError);
        Assert.True(await sub.WaitForLineAsync(l => l == $"/{Owner}/mytopic {{data: \"My data\"}}"), string.Join('\n', sub.Lines) + sub.Error);

        // # Revoke 6adb637f9cf2 the right to subscribe: delivery on the live subscription stops at once.
        Assert.Contains("\"ok\":true", await GrantAsync("revoke_sub_topic", $$"""{"name":"mytopic","accountId":"{{Other}}"}"""), StringComparison.Ordinal);
        await Pub(Owner, $"/{Owner}/mytopic", "after revoke");
        // No sentinel can reach this connection any more (its only subscription lost its right), so
        // absence is shown by time: a delivery over loopback takes milliseconds.
        await Task.Delay(300);
        Assert.DoesNotContain(sub.Lines, l => l.Contains("after revoke", StringComparison.Ordinal));

        // # Revoke 6adb637f9cf2 the right to publish: its messages no longer reach the owner.
        Assert.Contains("\"ok\":true", await GrantAsync("revoke_pub_topic", $$"""{"name":"mytopic","accountId":"{{Other}}"}"""), StringComparison.Ordinal);
        using OutputCollector owner = await SubscribedAsync(Owner, $"/{Owner}/mytopic");
        await Pub(Other, $"/{Owner}/mytopic", "no longer allowed");
        await AwaitSentinelAsync(owner, Owner, $"/{Owner}/mytopic");
        Assert.DoesNotContain(owner.Lines, l => l.Contains("no longer allowed", StringComparison.Ordinal));

        ProcessRun list = await listGrants(Owner);
        Assert.True(list.ExitCode == 0, list.StandardError);
        Assert.DoesNotContain("mytopic", list.StandardOutput, StringComparison.Ordinal);
    }
}

using System.Globalization;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// SIGKILL of the broker in the middle of a QoS 1 and a QoS 2 stream between MQTT.js clients with
/// persistent sessions: after the restart every acknowledged message arrives, and at QoS 2 none twice.
/// </summary>
public sealed class BrokerCrashTests
{
    private const int Messages = 2000;

    [Theory]
    [InlineData(1, "4")]
    [InlineData(2, "4")]
    [InlineData(2, "5")]
    public async Task Killing_the_broker_mid_stream_loses_nothing_acknowledged(int qos, string protocolVersion)
    {
        await using IotpeServer server = await IotpeServer.StartAsync();
        string url = $"mqtt://127.0.0.1:{server.Port}";
        string q = qos.ToString(CultureInfo.InvariantCulture);
        string topic = $"crash/q{qos}";
        using OutputCollector subscriber = MqttJs.StartScript("sequence-subscriber.js", url, topic, q, $"crash-sub-{qos}-{protocolVersion}", protocolVersion);
        Assert.True(await subscriber.WaitForLineAsync(l => l == "subscribed"), subscriber.Error);
        using OutputCollector publisher = MqttJs.StartScript("sequence-publisher.js", url, topic, q, Messages.ToString(CultureInfo.InvariantCulture),
            $"crash-pub-{qos}-{protocolVersion}", protocolVersion, "50", "400");

        // Let the stream run, then kill the broker without warning. From the 400th acknowledgement
        // on the publisher slows down, so the kill lands mid-stream however fast the machine is.
        Assert.True(await publisher.WaitForLineAsync(l => l == "acked 400", TimeSpan.FromSeconds(60)), publisher.Error);
        server.Kill();
        HashSet<int> ackedBeforeKill = Sequence(publisher.Lines, "acked ");
        Assert.NotEmpty(ackedBeforeKill);
        Assert.True(ackedBeforeKill.Count < Messages, "the stream finished before the kill; nothing was tested");
        await server.RestartAsync();

        Assert.True(await publisher.WaitForLineAsync(l => l == "done", TimeSpan.FromSeconds(120)), "publisher did not finish: " + publisher.Error);
        await subscriber.WaitForLineAsync(_ => Sequence(subscriber.Lines, "got ").Count >= Messages, TimeSpan.FromSeconds(60));
        // Let any duplicate arrive, so that the check below can see it: a redelivery after a crash
        // has no later message to order it against, so only time shows its absence.
        await Task.Delay(1000);

        List<int> received = [.. subscriber.Lines.Where(l => l.StartsWith("got ", StringComparison.Ordinal)).Select(l => int.Parse(l[4..], CultureInfo.InvariantCulture))];
        var distinct = received.ToHashSet();
        Assert.DoesNotContain(ackedBeforeKill, n => !distinct.Contains(n));
        Assert.Equal(Messages, distinct.Count); // the publisher resent what was not acknowledged; all arrived
        if (qos == 2)
        {
            Assert.Equal(received.Count, distinct.Count); // exactly once
        }
    }

    private static HashSet<int> Sequence(IEnumerable<string> lines, string prefix) =>
        [.. lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => int.Parse(l[prefix.Length..], CultureInfo.InvariantCulture))];
}

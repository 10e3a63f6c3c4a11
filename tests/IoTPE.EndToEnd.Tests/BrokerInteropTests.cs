using System.Globalization;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>The published broker with Debian's mosquitto clients and MQTT.js, in both protocol versions.</summary>
public sealed class BrokerInteropTests : IAsyncLifetime
{
    private IotpeServer _server = null!;

    public async Task InitializeAsync() => _server = await IotpeServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private string Port => _server.Port.ToString(CultureInfo.InvariantCulture);

    public static TheoryData<string, int> VersionsAndQoS => new()
    {
        { "mqttv311", 0 }, { "mqttv311", 1 }, { "mqttv311", 2 },
        { "mqttv5", 0 }, { "mqttv5", 1 }, { "mqttv5", 2 },
    };

    [Theory]
    [MemberData(nameof(VersionsAndQoS))]
    public async Task Mosquitto_clients_exchange_messages(string version, int qos)
    {
        string q = qos.ToString(CultureInfo.InvariantCulture);
        using OutputCollector sub = MosquittoClients.StartSubscriber(_server.Port, "-V", version, "-q", q, "-t", "sensors/#", "-v");
        await WaitUntilSubscribedAsync(_server.Port, "sensors/probe", sub);
        for (int i = 1; i <= 3; i++)
        {
            ProcessRun pub = await MosquittoClients.PublishAsync(_server.Port, "-V", version, "-q", q, "-t", $"sensors/t{i}", "-m", $"reading {i}");
            Assert.True(pub.ExitCode == 0, pub.StandardError);
        }
        Assert.True(await sub.WaitForLineAsync(l => l == "sensors/t3 reading 3"), string.Join('\n', sub.Lines));
        Assert.Equal(["sensors/t1 reading 1", "sensors/t2 reading 2", "sensors/t3 reading 3"], sub.Lines.Where(l => !l.StartsWith("sensors/probe", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task MqttJs_command_line_as_the_seed_uses_it(int qos)
    {
        string q = qos.ToString(CultureInfo.InvariantCulture);
        using OutputCollector sub = MqttJs.StartSubscriber("-h", "127.0.0.1", "-p", Port, "-q", q, "-t", "js/#", "-v");
        await WaitUntilSubscribedAsync(_server.Port, "js/probe", sub);
        ProcessRun pub = await MqttJs.RunAsync("pub", "-h", "127.0.0.1", "-p", Port, "-q", q, "-t", "js/hello", "-m", "Hello world");
        Assert.True(pub.ExitCode == 0, pub.StandardError);
        Assert.True(await sub.WaitForLineAsync(l => l == "js/hello Hello world"), string.Join('\n', sub.Lines) + sub.Error);
    }

    [Theory]
    [InlineData("3", 1)]
    [InlineData("4", 2)]
    [InlineData("5", 0)]
    [InlineData("5", 1)]
    [InlineData("5", 2)]
    public async Task MqttJs_library_in_every_protocol_version(string protocolVersion, int qos)
    {
        string q = qos.ToString(CultureInfo.InvariantCulture);
        string url = $"mqtt://127.0.0.1:{Port}";
        using OutputCollector sub = MqttJs.StartScript("sequence-subscriber.js", url, "lib/seq", q, "lib-sub-" + protocolVersion + q, protocolVersion);
        Assert.True(await sub.WaitForLineAsync(l => l == "subscribed"), sub.Error);
        using OutputCollector pub = MqttJs.StartScript("sequence-publisher.js", url, "lib/seq", q, "3", "lib-pub-" + protocolVersion + q, protocolVersion);
        Assert.True(await pub.WaitForExitAsync(TimeSpan.FromSeconds(20)), pub.Error);
        IReadOnlyList<string> lines = await sub.WaitForLinesAsync(4);
        Assert.Equal(["subscribed", "got 1", "got 2", "got 3"], lines);
    }

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task Retained_message_reaches_later_subscribers_until_cleared(string version)
    {
        ProcessRun pub = await MosquittoClients.PublishAsync(_server.Port, "-V", version, "-q", "1", "-r", "-t", "state/door", "-m", "open");
        Assert.Equal(0, pub.ExitCode);
        ProcessRun first = await MosquittoClients.RunOnceAsync(_server.Port, "-V", version, "-t", "state/#", "-v", "-C", "1", "-W", "5");
        Assert.Equal("state/door open", first.StandardOutput.Trim());

        pub = await MosquittoClients.PublishAsync(_server.Port, "-V", version, "-q", "1", "-r", "-t", "state/door", "-n");
        Assert.Equal(0, pub.ExitCode);
        ProcessRun second = await MosquittoClients.RunOnceAsync(_server.Port, "-V", version, "-t", "state/#", "-v", "-C", "1", "-W", "2");
        Assert.Equal(string.Empty, second.StandardOutput.Trim()); // nothing retained any more: -W times out
    }

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task Will_is_published_when_a_client_dies(string version)
    {
        using OutputCollector watcher = MosquittoClients.StartSubscriber(_server.Port, "-V", version, "-t", "wills/#", "-v");
        await WaitUntilSubscribedAsync(_server.Port, "wills/probe", watcher);
        // Its SUBACK means its CONNECT, and with it the will, has been taken.
        using OutputCollector doomed = await MosquittoClients.StartSubscriberAsync(_server.Port, "-V", version, "-t", "nothing", "-i", "doomed-" + version,
            "--will-topic", "wills/doomed", "--will-payload", "gone", "--will-qos", "1");
        doomed.Kill(); // no DISCONNECT: the broker must publish the will
        Assert.True(await watcher.WaitForLineAsync(l => l == "wills/doomed gone"), string.Join('\n', watcher.Lines));
    }

    [Theory]
    [InlineData("mqttv311")]
    [InlineData("mqttv5")]
    public async Task Persistent_session_queues_messages_while_the_client_is_away(string version)
    {
        string id = "persistent-" + version;
        // Subscribe once with a persistent session, then leave.
        string[] session = version == "mqttv5" ? ["-x", "3600"] : [];
        ProcessRun subscribe = await MosquittoClients.RunOnceAsync(_server.Port, ["-V", version, "-c", "-i", id, "-q", "1", "-t", "queue/#", "-E", .. session]);
        Assert.Equal(0, subscribe.ExitCode);
        for (int i = 1; i <= 3; i++)
        {
            Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, "-V", version, "-q", "1", "-t", "queue/m", "-m", $"m{i}")).ExitCode);
        }
        ProcessRun resumed = await MosquittoClients.RunOnceAsync(_server.Port, ["-V", version, "-c", "-i", id, "-q", "1", "-t", "queue/#", "-C", "3", "-W", "10", .. session]);
        Assert.Equal(["m1", "m2", "m3"], resumed.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("mqttv311", false)]
    [InlineData("mqttv5", false)]
    [InlineData("mqttv311", true)]
    [InlineData("mqttv5", true)]
    public async Task Persistent_session_survives_a_broker_restart(string version, bool kill)
    {
        string id = $"restart-{version}-{kill}";
        string[] session = version == "mqttv5" ? ["-x", "3600"] : [];
        Assert.Equal(0, (await MosquittoClients.RunOnceAsync(_server.Port, ["-V", version, "-c", "-i", id, "-q", "2", "-t", "restart/#", "-E", .. session])).ExitCode);
        for (int i = 1; i <= 3; i++)
        {
            Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, "-V", version, "-q", "2", "-t", "restart/m", "-m", $"m{i}")).ExitCode);
        }
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, "-V", version, "-q", "1", "-r", "-t", $"retained/{id}", "-m", "kept")).ExitCode);
        if (kill)
        {
            _server.Kill();
        }
        else
        {
            Assert.Equal(0, await _server.StopAsync());
        }
        await _server.RestartAsync();

        ProcessRun resumed = await MosquittoClients.RunOnceAsync(_server.Port, ["-V", version, "-c", "-i", id, "-q", "2", "-t", "restart/#", "-C", "3", "-W", "10", .. session]);
        Assert.Equal(["m1", "m2", "m3"], resumed.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        ProcessRun retained = await MosquittoClients.RunOnceAsync(_server.Port, "-V", version, "-t", $"retained/{id}", "-C", "1", "-W", "10");
        Assert.Equal("kept", retained.StandardOutput.Trim());
    }

    /// <summary>Publishes probes until the subscriber shows one: then its SUBSCRIBE has been processed.</summary>
    internal static async Task WaitUntilSubscribedAsync(int port, string probeTopic, OutputCollector subscriber)
    {
        for (int i = 0; i < 100; i++)
        {
            await MosquittoClients.PublishAsync(port, "-t", probeTopic, "-m", "probe");
            if (await subscriber.WaitForLineAsync(l => l.Contains("probe", StringComparison.Ordinal), TimeSpan.FromMilliseconds(200)))
            {
                return;
            }
        }
        throw new TimeoutException("the subscriber never received a probe: " + subscriber.Error);
    }
}

using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// A burst of run requests faster than the scripts run. At QoS 1 the requests beyond the engine's
/// in-flight limit wait in the broker's queue; at QoS 0 they wait in memory, counted. Before either
/// overflows, the client sending them is slowed down, so every request runs. Without that, QoS 0
/// requests beyond the limit are dropped, and QoS 1 requests are refused to the publisher (never
/// acknowledged and then dropped).
/// </summary>
public sealed class ScriptBackpressureTests
{
    private const string Password = "s3cret-pw";
    private const int Requests = 600;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task A_burst_of_requests_faster_than_the_script_all_run(int qos)
    {
        (IReadOnlyList<string> results, _) = await RunBurstAsync(qos, queueBackpressureMessages: 40);
        Assert.Equal(Requests, results.Count);
        Assert.Equal(Enumerable.Range(1, Requests).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), results);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Without_backpressure_the_same_burst_overflows_the_queue(int qos)
    {
        // The control case: the burst is large enough to overflow the limit (200, plus 10 in flight at QoS 1).
        // At QoS 1 the requests that do not fit are refused with 0x97 (MQTT 5.0), so the publisher knows.
        (IReadOnlyList<string> results, ProcessRun publisher) = await RunBurstAsync(qos, queueBackpressureMessages: int.MaxValue);
        Assert.InRange(results.Count, 1, Requests - 1);
        if (qos == 1)
        {
            Assert.Contains("Quota exceeded", publisher.StandardError + publisher.StandardOutput, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static async Task<(IReadOnlyList<string> Results, ProcessRun Publisher)> RunBurstAsync(int qos, int queueBackpressureMessages)
    {
        string config = Path.GetTempFileName();
        await File.WriteAllTextAsync(config, $$"""
            { "broker": { "maxQueuedMessages": 200, "queueBackpressureMessages": {{queueBackpressureMessages}} },
              "engine": { "maxRunsInFlight": 10 } }
            """);
        try
        {
            await using IotpeServer server = await IotpeServer.StartAsync(["--config", config], allowAnonymous: false);
            await server.AddAccountAsync("acme", Password);
            Assert.True(await server.WaitForOutputAsync("Accounts reloaded: 1 accounts"), server.Output);
            string file = Path.Combine(server.DataFolder, "slow.js");
            await File.WriteAllTextAsync(file, "var until = Date.now() + 3; while (Date.now() < until) {} return Number(message.payload);");
            Assert.Equal(0, (await server.CommandAsync(["script", "load", "acme", "slow", file])).ExitCode);

            using OutputCollector outcomes = await MosquittoClients.StartSubscriberAsync(server.Port, ["-u", "acme", "-P", Password, "-t", "/acme/run/slow/+"]);
            string numbers = string.Join('\n', Enumerable.Range(1, Requests)) + "\n";
            ProcessRun publisher = await ProcessRun.RunAsync("mosquitto_pub",
                ["-h", "127.0.0.1", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-u", "acme", "-P", Password, "-q", qos.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "/acme/run/slow", "-l",
                 "-V", qos == 1 && queueBackpressureMessages == int.MaxValue ? "mqttv5" : "mqttv311"],
                TimeSpan.FromSeconds(60), standardInput: numbers);
            Assert.True(publisher.ExitCode == 0 || queueBackpressureMessages == int.MaxValue, publisher.StandardError);

            // Runs of one account are ordered: wait until the last one or a quiet spell.
            int seen = -1;
            while (outcomes.Lines.Count != seen && outcomes.Lines.Count < Requests)
            {
                seen = outcomes.Lines.Count;
                await outcomes.WaitForLinesAsync(Requests, TimeSpan.FromSeconds(3));
            }
            return (outcomes.Lines, publisher);
        }
        finally
        {
            File.Delete(config);
        }
    }
}

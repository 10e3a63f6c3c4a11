using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using IoTPE.Engine.Benchmarks;
using IoTPE.Mqtt;
using IoTPE.TestSupport;

// Starts the published iotpe binary with one output and one input on the simulated chip
// (IOTPE_GPIO_SIMULATED, test-only) and measures, one operation at a time (each waits for the last):
//   edge -> script -> publish: a level written to the chip's FIFO until the input's onEdge script's
//     publish arrives at an MQTT client (includes the FIFO hop and the engine's script run);
//   set -> line written: a PUBLISH to /bench/gpio/led/set until the output's state, which iotpe
//     publishes right after the line is written, arrives (includes both MQTT hops).
// Prints p50/p99/max in milliseconds. Options: [count] (default 2000 of each).
int count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
string repo = RepositoryRoot.Find();
string binary = Environment.GetEnvironmentVariable("IOTPE_BINARY") ?? Path.Combine(repo, "artifacts", "linux-x64", "iotpe");
string data = Directory.CreateTempSubdirectory("iotpe-gpio-bench-").FullName;
try
{
    await ProcessRun.RunAsync(binary, ["account", "add", "bench", "--data", data, "--password-stdin"], null, "bench-password\n");
    string script = Path.Combine(data, "edge.js");
    await File.WriteAllTextAsync(script, "publish('/bench/edge', message.gpio);");
    await ProcessRun.RunAsync(binary, ["script", "load", "bench", "edge", script, "--data", data]);
    string config = Path.Combine(data, "iotpe.json");
    await File.WriteAllTextAsync(config, """
        { "gpio": { "pins": [
          { "name": "led", "account": "bench", "chip": 0, "line": 17, "direction": "output" },
          { "name": "button", "account": "bench", "chip": 0, "line": 27, "direction": "input", "maxEdgesPerSecond": 1000, "onEdge": "edge" }
        ] } }
        """);
    string feed = Path.Combine(data, "feed");
    await ProcessRun.RunAsync("mkfifo", [feed]);
    using OutputCollector server = OutputCollector.Start(binary, ["run", "--data", data, "--listen", "127.0.0.1:0", "--config", config],
        new Dictionary<string, string> { ["IOTPE_GPIO_SIMULATED"] = feed });
    if (!await server.WaitForLineAsync(l => l.Contains("Listening on 127.0.0.1:", StringComparison.Ordinal), TimeSpan.FromSeconds(30)))
    {
        throw new InvalidOperationException("iotpe did not start: " + server.Error);
    }
    int port = int.Parse(Regex.Match(server.Lines.First(l => l.Contains("Listening on", StringComparison.Ordinal)), @"127\.0\.0\.1:(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);

    await using var client = new BenchClient();
    await client.ConnectAsync(port, "gpio-bench", "bench", "bench-password");
    var arrived = new SemaphoreSlim(0);
    string? waitingFor = null;
    client.OnMessage = (topic, payload) =>
    {
        if (topic == Volatile.Read(ref waitingFor) && Encoding.UTF8.GetString(payload.Span).Contains("\"edge\":\"", StringComparison.Ordinal))
        {
            arrived.Release();
        }
    };
    await client.SubscribeAsync("/bench/edge", QualityOfService.AtMostOnce);
    await client.SubscribeAsync("/bench/gpio/led", QualityOfService.AtMostOnce);
    await using var fifo = new FileStream(feed, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1);

    Volatile.Write(ref waitingFor, "/bench/edge");
    double[] edge = await MeasureAsync(count, async i =>
    {
        await fifo.WriteAsync(Encoding.ASCII.GetBytes($"drive 0 27 {(i % 2 == 0 ? 1 : 0)}\n"));
        await fifo.FlushAsync();
    }, arrived);
    Report("edge -> onEdge script -> publish", edge);

    Volatile.Write(ref waitingFor, "/bench/gpio/led");
    double[] set = await MeasureAsync(count, i => client.PublishAsync("/bench/gpio/led/set", Encoding.ASCII.GetBytes(i % 2 == 0 ? "1" : "0"), QualityOfService.AtMostOnce), arrived);
    Report("MQTT set -> line written -> state published", set);
    server.Kill();
}
finally
{
    Directory.Delete(data, recursive: true);
}

// One at a time, at most ~500 a second: the input's rate limit is 1000 edges/s, so none is coalesced.
static async Task<double[]> MeasureAsync(int count, Func<int, Task> act, SemaphoreSlim arrived)
{
    var latencies = new List<double>(count);
    for (int i = 0; i < count; i++)
    {
        long start = Stopwatch.GetTimestamp();
        await act(i);
        if (!await arrived.WaitAsync(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"operation {i} got no answer");
        }
        latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        await Task.Delay(2);
    }
    return [.. latencies.Order()];
}

static void Report(string what, double[] sorted) =>
    Console.WriteLine($"{what} ({sorted.Length}): p50 {Percentiles.Of(sorted, 0.50):F2} ms, p99 {Percentiles.Of(sorted, 0.99):F2} ms, max {sorted[^1]:F2} ms");

using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using IoTPE.Engine.Benchmarks;
using IoTPE.Mqtt;
using IoTPE.TestSupport;

// Starts the published iotpe binary on a temporary data folder, loads a trivial script that
// publishes what it receives, and measures (1) runs per second when a client publishes as fast as
// the broker takes it, at QoS 0 and QoS 1 (durable run queue), and (2) latency from PUBLISH to the
// script's output publish at a steady 1,000 runs/s.
string repo = RepositoryRoot.Find();
string binary = Environment.GetEnvironmentVariable("IOTPE_BINARY") ?? Path.Combine(repo, "artifacts", "linux-x64", "iotpe");
string data = Directory.CreateTempSubdirectory("iotpe-engine-bench-").FullName;
try
{
    await ProcessRun.RunAsync(binary, ["account", "add", "bench", "--data", data, "--password-stdin"], null, "bench-password\n");
    string script = Path.Combine(data, "echo.js");
    await File.WriteAllTextAsync(script, "publish('/bench/out', message.payload);");
    await ProcessRun.RunAsync(binary, ["script", "load", "bench", "echo", script, "--data", data]);
    // IOTPE_CONFIG names a config file for the run, e.g. to compare storage.commitDelayMilliseconds settings.
    string? config = Environment.GetEnvironmentVariable("IOTPE_CONFIG");
    using OutputCollector server = OutputCollector.Start(binary,
        config is null ? ["run", "--data", data, "--listen", "127.0.0.1:0"] : ["run", "--data", data, "--listen", "127.0.0.1:0", "--config", config]);
    if (!await server.WaitForLineAsync(l => l.Contains("Listening on 127.0.0.1:", StringComparison.Ordinal), TimeSpan.FromSeconds(30)))
    {
        throw new InvalidOperationException("iotpe did not start: " + server.Error);
    }
    int port = int.Parse(Regex.Match(server.Lines.First(l => l.Contains("Listening on", StringComparison.Ordinal)), @"127\.0\.0\.1:(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);

    await using var subscriber = new BenchClient();
    await subscriber.ConnectAsync(port, "bench-sub", "bench", "bench-password");
    await subscriber.SubscribeAsync("/bench/out", QualityOfService.AtMostOnce);
    await using var publisher = new BenchClient();
    await publisher.ConnectAsync(port, "bench-pub", "bench", "bench-password");

    var latencies = new List<double>();
    int received = 0;
    subscriber.OnMessage = (_, payload) =>
    {
        long sent = long.Parse(Encoding.ASCII.GetString(payload.Span), CultureInfo.InvariantCulture);
        lock (latencies)
        {
            latencies.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
        }
        Interlocked.Increment(ref received);
    };

    foreach (QualityOfService qos in new[] { QualityOfService.AtMostOnce, QualityOfService.AtLeastOnce })
    {
        const int Runs = 20_000;
        received = 0;
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < Runs; i++)
        {
            await publisher.PublishAsync("/bench/run/echo", Encoding.ASCII.GetBytes(Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)), qos);
            // Below the account's run-queue bound (engine.maxQueuedRunsPerAccount, 1,000 by
            // default): beyond it requests are refused, and refused QoS 0 requests are gone.
            while (i - Volatile.Read(ref received) > 500)
            {
                await Task.Delay(1); // keep the pipeline bounded: about 500 runs in flight
            }
        }
        while (Volatile.Read(ref received) < Runs && watch.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(5);
        }
        Console.WriteLine($"throughput qos={(int)qos}: {Runs} runs in {watch.Elapsed.TotalSeconds:F2} s = {Volatile.Read(ref received) / watch.Elapsed.TotalSeconds:F0} runs/s");
    }

    foreach (QualityOfService qos in new[] { QualityOfService.AtMostOnce, QualityOfService.AtLeastOnce })
    {
        latencies.Clear();
        received = 0;
        const int Rate = 1000, Seconds = 10;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Rate * Seconds; i++)
        {
            TimeSpan due = TimeSpan.FromSeconds((double)i / Rate);
            TimeSpan wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait); // sleep, never spin: the broker needs the CPU
            }
            await publisher.PublishAsync("/bench/run/echo", Encoding.ASCII.GetBytes(Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)), qos);
        }
        while (Volatile.Read(ref received) < Rate * Seconds && clock.Elapsed < TimeSpan.FromSeconds(Seconds + 10))
        {
            await Task.Delay(5);
        }
        double[] sorted = [.. latencies.Order()];
        Console.WriteLine($"latency at {Rate} runs/s (QoS {(int)qos} request, {sorted.Length} runs): p50 {Percentiles.Of(sorted, 0.50):F2} ms, p99 {Percentiles.Of(sorted, 0.99):F2} ms, max {sorted[^1]:F2} ms");

    }
    server.Kill();
}
finally
{
    Directory.Delete(data, recursive: true);
}

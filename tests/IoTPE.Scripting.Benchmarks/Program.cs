using System.Diagnostics;
using System.Globalization;
using System.Text;
using IoTPE.Scripting;
using IoTPE.Scripting.Benchmarks;

// Script runs through ScriptRuntime: runs per second with 1 and 2 owners, and latency at a fixed
// 1,000 runs/s. Targets (issue 6): >= 20,000 runs/s on 2 cores, p99 <= 2 ms.
// Usage: dotnet run -c Release [-- --seconds N], or -- --rule [seconds] for the pipebench rule alone (CPU per run),
// or -- --accounts for the cold start and idle memory of an account alone
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Length >= 1 && args[0] == "--rule")
{
    // Only the pipebench rule, CPU per run: dotnet run -c Release -- --rule [seconds]
    RuleRun.Measure(TimeSpan.FromSeconds(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 5));
    return;
}
bool accountsOnly = args.Length == 1 && args[0] == "--accounts";
double seconds = args.Length == 2 && args[0] == "--seconds" ? double.Parse(args[1], CultureInfo.InvariantCulture) : 5;
TimeSpan duration = TimeSpan.FromSeconds(seconds);

byte[] message = """{"topic":"/acme/run/calc","payload":"{\"x\":2,\"y\":3}","json":{"x":2,"y":3},"qos":1,"retain":false}"""u8.ToArray();
var trivial = new ScriptSource("calc.js", "return { sum: message.json.x + message.json.y };");
var publishing = new ScriptSource("calc-publish.js", "var sum = message.json.x + message.json.y;\npublish('/acme/out/calc', { sum: sum }, { qos: 1 });\nreturn { sum: sum };");

Console.WriteLine($"IoTPE.Scripting benchmark: Jint {ScriptHeap.EngineVersion}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {seconds:F0} s per measurement");
Console.WriteLine();

// Cold start of an account (engine with the script API + parse + first run) and what an idle
// account keeps (its engine after one run, with the script loaded), measured as retained managed
// memory and as the process's resident memory (after a full collection).
{
    const int Accounts = 1000;
    var warm = ScriptHeap.Create();
    warm.Load("trivial@1", trivial);
    warm.Run("trivial@1", message, new BenchmarkHost());
    warm.Dispose();
    var accounts = new List<ScriptHeap>(Accounts);
    long before = GC.GetTotalMemory(forceFullCollection: true);
    long residentBefore = Environment.WorkingSet;
    var coldTimer = Stopwatch.StartNew();
    for (int i = 0; i < Accounts; i++)
    {
        ScriptHeap heap = ScriptHeap.Create();
        heap.Load("trivial@1", trivial);
        heap.Run("trivial@1", message, new BenchmarkHost());
        accounts.Add(heap);
    }
    double coldMs = coldTimer.Elapsed.TotalMilliseconds / Accounts;
    long after = GC.GetTotalMemory(forceFullCollection: true);
    long residentAfter = Environment.WorkingSet;
    Console.WriteLine($"account cold start (engine with the API, parse, first run): {coldMs:F3} ms; idle account after one run: " +
        $"{(after - before) / (double)Accounts / 1024:F1} KiB retained, {(residentAfter - residentBefore) / (double)Accounts / 1024:F1} KiB resident ({Accounts:N0} accounts)");
    accounts.ForEach(h => h.Dispose());
}
if (accountsOnly)
{
    return;
}

using (ScriptHeap heap = ScriptHeap.Create())
{
    heap.Load("trivial@1", trivial);
    var host = new BenchmarkHost();
    for (int i = 0; i < 20_000; i++)
    {
        heap.Run("trivial@1", message, host);
    }
    const int Runs = 200_000;
    var timer = Stopwatch.StartNew();
    for (int i = 0; i < Runs; i++)
    {
        heap.Run("trivial@1", message, host);
    }
    Console.WriteLine($"ScriptHeap.Run, one thread, no queue: {Runs / timer.Elapsed.TotalSeconds:N0} runs/s ({timer.Elapsed.TotalMicroseconds / Runs:F2} µs per run)");
}
Console.WriteLine();

var table = new StringBuilder();
table.AppendLine("| script | owners | runs/s |");
table.AppendLine("|---|---|---|");
using (var runtime = new ScriptRuntime())
{
    foreach ((string name, ScriptSource script) in new[] { ("trivial", trivial), ("trivial + 1 publish", publishing) })
    {
        Throughput.Measure(runtime, script, message, 2, TimeSpan.FromSeconds(1));
        foreach (int owners in new[] { 1, 2 })
        {
            double rate = Throughput.Measure(runtime, script, message, owners, duration);
            table.AppendLine($"| {name} | {owners} | {rate:N0} |");
        }
    }
}
Console.WriteLine($"ScriptRuntime throughput ({Environment.ProcessorCount} workers, 1,024 runs in flight):");
Console.WriteLine(table);

using (var runtime = new ScriptRuntime())
{
    Latency.Measure(runtime, trivial, message, 1000, TimeSpan.FromSeconds(1));
    double[] latencies = Latency.Measure(runtime, trivial, message, 1000, duration);
    Console.WriteLine($"ScriptRuntime latency at 1,000 runs/s ({latencies.Length:N0} runs, RunAsync to awaiting code):");
    Console.WriteLine($"  p50 {Latency.Percentile(latencies, 50):F3} ms, p90 {Latency.Percentile(latencies, 90):F3} ms, " +
        $"p99 {Latency.Percentile(latencies, 99):F3} ms, p99.9 {Latency.Percentile(latencies, 99.9):F3} ms, max {latencies[^1]:F3} ms");
}

using System.Diagnostics;
using IoTPE.Scripting;

namespace IoTPE.Scripting.Benchmarks;

/// <summary>
/// The pipebench rule (build/cpu-bench.sh) through <see cref="ScriptHeap.Run(string, ReadOnlySpan{byte}, IScriptHost)"/>
/// on one thread, with the message the engine builds for a run request: CPU time and managed
/// allocation per run, and the collections it caused. CPU time rather than wall time, so that it
/// can be compared on a machine other work shares.
/// </summary>
internal static class RuleRun
{
    /// <summary>The rule of build/cpu-bench.sh.</summary>
    public static readonly ScriptSource Rule = new("rule",
        "const { seq, t, a, b } = message.json;\npublish('/acme/out', { seq, t, sum: a + b }, { qos: 1 });\n");

    /// <summary>What ScriptMessage.FromMessage writes for pipebench's payload on /acme/run/rule.</summary>
    public static readonly byte[] Message =
        """{"topic":"/acme/run/rule","account":"acme","script":"rule","publisher":"acme","clientId":"pipebench-1a2b3c4d-in","payload":"{\"seq\":123456,\"t\":1712345678901234,\"a\":3,\"b\":4}","json":{"seq":123456,"t":1712345678901234,"a":3,"b":4},"payloadBase64":"eyJzZXEiOjEyMzQ1NiwidCI6MTcxMjM0NTY3ODkwMTIzNCwiYSI6MywiYiI6NH0=","qos":1,"retain":false,"contentType":null,"responseTopic":null,"correlationData":null,"correlationDataBase64":null,"userProperties":{}}"""u8.ToArray();

    /// <summary>The message the engine hands the heap for the same run request (ScriptMessage.ForRun): no JSON.</summary>
    public static readonly RunMessage Record = new()
    {
        Topic = "/acme/run/rule",
        Account = "acme",
        Script = "rule",
        Publisher = "acme",
        ClientId = "pipebench-1a2b3c4d-in",
        Payload = """{"seq":123456,"t":1712345678901234,"a":3,"b":4}"""u8.ToArray(),
        QoS = 1,
    };

    /// <summary>The rule and parts of it, to split the cost of a run: the message alone, the rule without its publish, the rule.</summary>
    public static void Measure(TimeSpan duration)
    {
        Measure("empty script, message {}", new ScriptSource("empty", ""), "{}"u8.ToArray(), duration);
        Measure("empty script, engine's message as JSON", new ScriptSource("empty", ""), Message, duration);
        Measure("empty script, engine's message as a record", new ScriptSource("empty", ""), (heap, host) => heap.Run("rule@1", Record, host), duration);
        Measure("rule without publish", new ScriptSource("compute", "const { seq, t, a, b } = message.json;\nvar out = { seq, t, sum: a + b };\n"), Message, duration);
        Measure("rule, message as JSON", Rule, Message, duration);
        Measure("rule, message as a record", Rule, (heap, host) => heap.Run("rule@1", Record, host), duration);
        if (Environment.GetEnvironmentVariable("RULE_PARTS") is not null)
        {
            Measure("publish constant object", new ScriptSource("p0", "publish('/acme/out', {seq: 1, t: 2, sum: 3}, {qos: 1});"), "{}"u8.ToArray(), duration);
            Measure("publish big t", new ScriptSource("p0", "publish('/acme/out', {seq: 1, t: 1712345678901234, sum: 3}, {qos: 1});"), "{}"u8.ToArray(), duration);
            Measure("stringify big t", new ScriptSource("p0", "JSON.stringify({seq: 1, t: 1712345678901234, sum: 3});"), "{}"u8.ToArray(), duration);
            Measure("publish string", new ScriptSource("p1", "publish('/acme/out', 'x');"), "{}"u8.ToArray(), duration);
            Measure("publish string qos", new ScriptSource("p2", "publish('/acme/out', 'x', {qos: 1});"), "{}"u8.ToArray(), duration);
            Measure("stringify", new ScriptSource("p3", "JSON.stringify({seq: 1, t: 2, sum: 3});"), "{}"u8.ToArray(), duration);
            Measure("function call", new ScriptSource("p4", "function f(a, b, c) { return a; } f(1, 2, 3);"), "{}"u8.ToArray(), duration);
            Measure("object keys", new ScriptSource("p5", "Object.keys({qos: 1});"), "{}"u8.ToArray(), duration);
        }
    }

    private static void Measure(string label, ScriptSource script, byte[] message, TimeSpan duration) =>
        Measure(label, script, (heap, host) => heap.Run("rule@1", message, host), duration);

    private static void Measure(string label, ScriptSource script, Func<ScriptHeap, IScriptHost, ScriptRunResult> run, TimeSpan duration)
    {
        using ScriptHeap heap = ScriptHeap.Create();
        heap.Load("rule@1", script);
        var host = new BenchmarkHost();
        for (int i = 0; i < 20_000; i++)
        {
            run(heap, host);
        }
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        long runs = 0;
        while (wall.Elapsed < duration)
        {
            for (int i = 0; i < 1000; i++)
            {
                run(heap, host);
            }
            runs += 1000;
        }
        double cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / runs;
        double bytes = (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)runs;
        Console.WriteLine($"{label}, one thread: {runs / wall.Elapsed.TotalSeconds:N0} runs/s wall, {cpuUs:F2} µs CPU per run (process), " +
            $"{bytes:N0} B allocated per run, GCs gen0/1/2 {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2} over {runs:N0} runs");
    }
}

using System.Diagnostics;
using IoTPE.Scripting;

namespace IoTPE.Scripting.Benchmarks;

/// <summary>
/// Latency of single runs submitted at a fixed rate (an open loop: a slow run does not delay the
/// next submission), from RunAsync to the awaiting code seeing the result.
/// </summary>
internal static class Latency
{
    public static double[] Measure(ScriptRuntime runtime, ScriptSource script, byte[] message, int runsPerSecond, TimeSpan duration)
    {
        var host = new BenchmarkHost();
        int count = (int)(runsPerSecond * duration.TotalSeconds);
        double[] latencies = new double[count];
        using var done = new CountdownEvent(count);
        long interval = Stopwatch.Frequency / runsPerSecond;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            long due = start + i * interval;
            while (Stopwatch.GetTimestamp() < due)
            {
                // Sleeping would overshoot the 1 ms slots; yield instead.
                Thread.Yield();
            }
            int index = i;
            long submitted = Stopwatch.GetTimestamp();
            runtime.RunAsync("latency", "trivial@1", script, message, host).ContinueWith(t =>
            {
                latencies[index] = Stopwatch.GetElapsedTime(submitted).TotalMilliseconds;
                if (t.Result.Status != ScriptRunStatus.Completed)
                {
                    throw new InvalidOperationException($"run failed: {t.Result.Error}");
                }
                done.Signal();
            }, TaskScheduler.Default);
        }
        done.Wait();
        Array.Sort(latencies);
        return latencies;
    }

    public static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];
}

using System.Diagnostics;
using IoTPE.Scripting;

namespace IoTPE.Scripting.Benchmarks;

/// <summary>Runs per second with a fixed number of runs in flight, spread over a number of owners.</summary>
internal static class Throughput
{
    public static double Measure(ScriptRuntime runtime, ScriptSource script, byte[] message, int owners, TimeSpan duration, int inFlight = 1024)
    {
        var host = new BenchmarkHost();
        string[] ownerNames = [.. Enumerable.Range(0, owners).Select(i => $"owner{i}")];
        long completed = 0;
        long deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        using var window = new SemaphoreSlim(inFlight);
        long started = Stopwatch.GetTimestamp();
        long submitted = 0;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            window.Wait();
            string owner = ownerNames[submitted++ % owners];
            runtime.RunAsync(owner, "trivial@1", script, message, host).ContinueWith(t =>
            {
                if (t.Result.Status != ScriptRunStatus.Completed)
                {
                    throw new InvalidOperationException($"run failed: {t.Result.Error}");
                }
                Interlocked.Increment(ref completed);
                window.Release();
            }, TaskContinuationOptions.ExecuteSynchronously);
        }
        for (int i = 0; i < inFlight; i++)
        {
            window.Wait();
        }
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return Interlocked.Read(ref completed) / seconds;
    }
}

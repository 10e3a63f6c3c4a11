using System.Globalization;

namespace IoTPE.EndToEnd.Tests.Infrastructure;

/// <summary>Numbers from a Linux <c>/proc/&lt;pid&gt;/status</c> (or <c>/proc/&lt;pid&gt;/task/&lt;tid&gt;/status</c>) file.</summary>
internal static class ProcStatus
{
    /// <summary>The number that <paramref name="field"/> (without its colon) gives in <paramref name="statusFile"/>, in the file's own unit (kB for memory).</summary>
    public static long Read(string statusFile, string field)
    {
        string prefix = field + ":";
        string line = File.ReadLines(statusFile).First(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return long.Parse(line[prefix.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary><see cref="Read(string, string)"/> of the process's own status file.</summary>
    public static long Read(int processId, string field) => Read($"/proc/{processId}/status", field);

    /// <summary>Voluntary and involuntary context switches of every thread of <paramref name="processId"/> so far: how often it woke.</summary>
    /// <remarks>
    /// A thread that ends between two readings takes its count with it (Linux keeps no per-process
    /// total of ended threads that another process can read); the pool's workers, the threads that
    /// could, end only after 20 s without work, and a process that wakes them keeps them alive.
    /// </remarks>
    public static long ContextSwitches(int processId)
    {
        long total = 0;
        foreach (string task in Directory.EnumerateDirectories($"/proc/{processId}/task"))
        {
            try
            {
                string status = Path.Combine(task, "status");
                total += Read(status, "voluntary_ctxt_switches") + Read(status, "nonvoluntary_ctxt_switches");
            }
            catch (IOException)
            {
                // A thread that ended meanwhile.
            }
        }
        return total;
    }

    /// <summary>How many times a second <paramref name="processId"/> wakes while <paramref name="window"/> passes.</summary>
    public static async Task<double> WakeUpsPerSecondAsync(int processId, TimeSpan window)
    {
        long before = ContextSwitches(processId);
        await Task.Delay(window);
        return (ContextSwitches(processId) - before) / window.TotalSeconds;
    }
}

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
}

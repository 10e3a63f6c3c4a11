using System.Globalization;

namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>One run of IoTPE.Client.CrashHelper (see its Program.cs), with its whole output lines.</summary>
public sealed class CrashHelperRun : IDisposable
{
    private readonly OutputCollector _process;

    private CrashHelperRun(OutputCollector process) => _process = process;

    /// <summary>Lines the run finished writing (a line cut by a kill has no final '.').</summary>
    public IReadOnlyList<string> Lines => _process.Lines.Where(l => l.EndsWith('.')).Select(l => l[..^1]).ToList();

    public string Error => _process.Error;

    public static CrashHelperRun Start(params string[] arguments) =>
        new(OutputCollector.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "IoTPE.Client.CrashHelper.dll"), .. arguments]));

    /// <summary>The numbers of the lines starting with <paramref name="verb"/> ("acked", "handled"), in order.</summary>
    public IReadOnlyList<int> Numbers(string verb) => Lines
        .Where(l => l.StartsWith(verb + " ", StringComparison.Ordinal))
        .Select(l => int.Parse(l.Split(' ')[1], CultureInfo.InvariantCulture))
        .ToList();

    /// <summary>Waits until <paramref name="condition"/> holds for the lines so far (woken by each line and by the exit).</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<string>, bool> condition, TimeSpan timeout, string what)
    {
        if (!await _process.WaitUntilAsync(() => condition(Lines), timeout))
        {
            Assert.Fail($"The crash helper did not get to: {what}. Output:\n{string.Join('\n', _process.Lines)}\nErrors:\n{Error}");
        }
    }

    /// <summary>Waits for the run to end by itself (its output read to the end); false on timeout.</summary>
    public Task<bool> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    /// <summary>SIGKILL, then waits for the output written before it to be read.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync(TimeSpan.FromSeconds(10));
    }

    public void Dispose() => _process.Dispose();
}

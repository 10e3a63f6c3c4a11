using System.Diagnostics;

namespace IoTPE.TestSupport;

/// <summary>The outcome of running a program to completion.</summary>
public sealed record ProcessRun(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Runs <paramref name="fileName"/> and waits for it, killing it after <paramref name="timeout"/>.</summary>
    public static async Task<ProcessRun> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan? timeout = null, string? standardInput = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using Process process = Process.Start(info) ?? throw new InvalidOperationException("Cannot start " + fileName);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
            process.StandardInput.Close();
        }
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish in time");
        }
        return new ProcessRun(process.ExitCode, await stdout, await stderr);
    }
}

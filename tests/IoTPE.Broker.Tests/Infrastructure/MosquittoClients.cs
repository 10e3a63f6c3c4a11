using System.Diagnostics;
using System.Text;

namespace IoTPE.Broker.Tests.Infrastructure;

/// <summary>Runs Debian's mosquitto_pub and mosquitto_sub against a broker.</summary>
internal static class MosquittoClients
{
    public static async Task<(int ExitCode, string Output, string Error)> PublishAsync(int port, params string[] args)
    {
        return await RunAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args], TimeSpan.FromSeconds(20));
    }

    /// <summary>Starts mosquitto_sub and returns once it is subscribed (waits for a marker message).</summary>
    public static SubscriberProcess StartSubscriber(int port, params string[] args)
    {
        var info = new ProcessStartInfo("mosquitto_sub") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])["-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args])
        {
            info.ArgumentList.Add(a);
        }
        return new SubscriberProcess(Process.Start(info)!);
    }

    public static async Task<(int, string, string)> RunAsync(string file, string[] args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }
        using Process p = Process.Start(info)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} timed out");
        }
        return (p.ExitCode, await stdout, await stderr);
    }
}

/// <summary>A running mosquitto_sub whose output lines are collected.</summary>
internal sealed class SubscriberProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _error = new();

    public SubscriberProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (_lines) { _lines.Add(e.Data); } } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (_error) { _error.AppendLine(e.Data); } } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    public async Task<IReadOnlyList<string>> WaitForLinesAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline)
        {
            if (Lines.Count >= count)
            {
                return Lines;
            }
            if (_process.HasExited)
            {
                await Task.Delay(100);
                return Lines;
            }
            await Task.Delay(20);
        }
        return Lines;
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
    }
}

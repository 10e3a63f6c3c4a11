using System.Diagnostics;
using System.Text;

namespace IoTPE.TestSupport;

/// <summary>A running program whose standard output lines are collected as they come.</summary>
public sealed class OutputCollector : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _error = new();

    private OutputCollector(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_lines)
                {
                    _lines.Add(e.Data);
                }
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_error)
                {
                    _error.AppendLine(e.Data);
                }
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> and optional extra environment.</summary>
    public static OutputCollector Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        return new OutputCollector(Process.Start(info) ?? throw new InvalidOperationException("cannot start " + fileName));
    }

    public int ProcessId => _process.Id;

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

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Waits until at least <paramref name="count"/> lines arrived, the program exited, or the timeout passed.</summary>
    public async Task<IReadOnlyList<string>> WaitForLinesAsync(int count, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline && Lines.Count < count)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit(); // drain the output events
                break;
            }
            await Task.Delay(20);
        }
        return Lines;
    }

    /// <summary>Waits until a line satisfies <paramref name="predicate"/>.</summary>
    public async Task<bool> WaitForLineAsync(Func<string, bool> predicate, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline)
        {
            if (Lines.Any(predicate))
            {
                return true;
            }
            if (_process.HasExited)
            {
                _process.WaitForExit();
                return Lines.Any(predicate);
            }
            await Task.Delay(20);
        }
        return false;
    }

    /// <summary>Waits for the program to exit by itself.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}

using System.Diagnostics;
using System.Text;

namespace IoTPE.TestSupport;

/// <summary>
/// A running program whose standard output lines are collected as they come. Waits end when the
/// line arrives (each new line wakes the waiters), not on a polling interval.
/// </summary>
public sealed class OutputCollector : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<string> _diagnosticLines = [];
    private readonly StringBuilder _error = new();
    private TaskCompletionSource _lineArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private OutputCollector(Process process, Func<string, bool>? isDiagnostic)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            TaskCompletionSource arrived;
            lock (_lines)
            {
                if (e.Data is not null)
                {
                    (isDiagnostic?.Invoke(e.Data) == true ? _diagnosticLines : _lines).Add(e.Data);
                }
                arrived = _lineArrived;
                _lineArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            arrived.TrySetResult(); // a null line is the end of the output: waiters look once more
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            if (isDiagnostic?.Invoke(e.Data) == true)
            {
                // Debug output some programs write to standard error (MQTT.js's DEBUG log): kept
                // apart from the errors, and it wakes the waiters as a data line does.
                TaskCompletionSource arrived;
                lock (_lines)
                {
                    _diagnosticLines.Add(e.Data);
                    arrived = _lineArrived;
                    _lineArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
                arrived.TrySetResult();
                return;
            }
            lock (_error)
            {
                _error.AppendLine(e.Data);
            }
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="arguments"/> and optional extra environment.
    /// Lines of either stream for which <paramref name="isDiagnostic"/> is true go to <see cref="DiagnosticLines"/>
    /// instead of <see cref="Lines"/> or <see cref="Error"/>.
    /// </summary>
    public static OutputCollector Start(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null,
        Func<string, bool>? isDiagnostic = null)
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
        return new OutputCollector(Process.Start(info) ?? throw new InvalidOperationException("cannot start " + fileName), isDiagnostic);
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

    /// <summary>The program's diagnostic lines (e.g. mosquitto_sub's <c>-d</c> output, MQTT.js's DEBUG log), apart from its data and errors.</summary>
    public IReadOnlyList<string> DiagnosticLines
    {
        get
        {
            lock (_lines)
            {
                return [.. _diagnosticLines];
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
        await WaitUntilAsync(() => Lines.Count >= count, timeout);
        return Lines;
    }

    /// <summary>Waits until a line satisfies <paramref name="predicate"/>.</summary>
    public Task<bool> WaitForLineAsync(Func<string, bool> predicate, TimeSpan? timeout = null) =>
        WaitUntilAsync(() => Lines.Any(predicate), timeout);

    /// <summary>Waits until a diagnostic line satisfies <paramref name="predicate"/>.</summary>
    public Task<bool> WaitForDiagnosticLineAsync(Func<string, bool> predicate, TimeSpan? timeout = null) =>
        WaitUntilAsync(() => DiagnosticLines.Any(predicate), timeout);

    /// <summary>Waits until <paramref name="condition"/> holds after a line arrived, the program exited, or the timeout passed.</summary>
    public async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(15);
        while (true)
        {
            Task arrived;
            lock (_lines)
            {
                arrived = _lineArrived.Task;
            }
            if (condition())
            {
                return true;
            }
            if (_process.HasExited)
            {
                _process.WaitForExit(); // drain the output events
                return condition();
            }
            TimeSpan left = limit - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                return false;
            }
            // Exit is checked at least every 100 ms: a program that ends prints no line to wake us.
            await Task.WhenAny(arrived, Task.Delay(left < ExitCheck ? left : ExitCheck));
        }
    }

    private static readonly TimeSpan ExitCheck = TimeSpan.FromMilliseconds(100);

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

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace IoTPE.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The published <c>iotpe</c> binary running as a real process on a loopback port, with its data
/// in a temporary folder that survives restarts (so tests can kill it and start it again).
/// </summary>
internal sealed partial class IotpeServer : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    private IotpeServer(string dataFolder, IReadOnlyList<string> extraArguments, IotpeExecutable executable, IReadOnlyDictionary<string, string> environment)
    {
        DataFolder = dataFolder;
        ExtraArguments = extraArguments;
        Executable = executable;
        EnvironmentVariables = environment;
    }

    /// <summary>How the binary is started: natively, or the arm64 binary under qemu.</summary>
    public IotpeExecutable Executable { get; }

    /// <summary>Variables added to the process's environment (e.g. <c>NOTIFY_SOCKET</c>).</summary>
    public IReadOnlyDictionary<string, string> EnvironmentVariables { get; }

    public string DataFolder { get; }

    public IReadOnlyList<string> ExtraArguments { get; }

    public int Port { get; private set; }

    public int ProcessId => _process?.Id ?? 0;

    /// <summary>Everything the process wrote so far (all runs).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Waits until the process has written <paramref name="text"/> (log lines arrive asynchronously).</summary>
    public Task<bool> WaitForOutputAsync(string text, TimeSpan? timeout = null) => WaitForOutputAsync(text, 1, timeout);

    /// <summary>How many times the process has written <paramref name="text"/> so far.</summary>
    public int CountOutput(string text)
    {
        string output = Output;
        int count = 0;
        for (int at = output.IndexOf(text, StringComparison.Ordinal); at >= 0; at = output.IndexOf(text, at + text.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    /// <summary>Waits until the process has written <paramref name="text"/> at least <paramref name="occurrences"/> times.</summary>
    public async Task<bool> WaitForOutputAsync(string text, int occurrences, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (DateTime.UtcNow < deadline)
        {
            if (CountOutput(text) >= occurrences)
            {
                return true;
            }
            await Task.Delay(20);
        }
        return CountOutput(text) >= occurrences;
    }

    /// <summary>Runs an <c>iotpe</c> command (e.g. <c>account add</c>) on this server's data folder.</summary>
    public Task<ProcessRun> CommandAsync(string[] arguments, string? standardInput = null) =>
        ProcessRun.RunAsync(Executable.FileName, [.. Executable.PrefixArguments, .. arguments, "--data", DataFolder], Executable.StartTimeout, standardInput);

    /// <summary>Creates an account with <c>iotpe account add NAME --password-stdin</c>.</summary>
    public async Task AddAccountAsync(string name, string password)
    {
        ProcessRun run = await CommandAsync(["account", "add", name, "--password-stdin"], password + "\n");
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"account add {name} failed: {run.StandardError}");
        }
    }

    /// <summary>Starts iotpe (anonymous clients allowed) with <paramref name="json"/> as its <c>--config</c> file, in a new data folder.</summary>
    public static async Task<IotpeServer> StartWithConfigurationAsync(string json)
    {
        string folder = Directory.CreateTempSubdirectory("iotpe-e2e-").FullName;
        string config = System.IO.Path.Combine(folder, "iotpe.json");
        await File.WriteAllTextAsync(config, json);
        return await StartAsync(["--config", config], dataFolder: System.IO.Path.Combine(folder, "data"));
    }

    /// <summary>Starts iotpe with <c>--allow-anonymous</c> unless told otherwise, on a free port.</summary>
    /// <param name="extraArguments">Arguments after <c>run --data DIR --listen 127.0.0.1:PORT</c>.</param>
    /// <param name="dataFolder">The data folder; default: a new temporary one.</param>
    /// <param name="allowAnonymous">Adds <c>--allow-anonymous</c>.</param>
    /// <param name="executable">Default: the published binary of this machine's RID.</param>
    /// <param name="environment">Variables added to the process's environment.</param>
    public static async Task<IotpeServer> StartAsync(IEnumerable<string>? extraArguments = null, string? dataFolder = null, bool allowAnonymous = true,
        IotpeExecutable? executable = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        List<string> extra = [.. extraArguments ?? []];
        if (allowAnonymous)
        {
            extra.Add("--allow-anonymous");
        }
        var server = new IotpeServer(dataFolder ?? Directory.CreateTempSubdirectory("iotpe-e2e-").FullName, extra,
            executable ?? IotpeExecutable.Native, environment ?? new Dictionary<string, string>());
        await server.StartProcessAsync(port: 0);
        return server;
    }

    /// <summary>Starts the process again on the same port and data folder (after a kill or stop).</summary>
    public Task RestartAsync() => StartProcessAsync(Port);

    /// <summary>SIGKILL: no chance to flush anything, like a crash.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM and wait for a clean exit; returns the exit code.</summary>
    public async Task<int> StopAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return _process?.ExitCode ?? 0;
        }
        _ = await ProcessRun.RunAsync("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    private async Task StartProcessAsync(int port)
    {
        var info = new ProcessStartInfo(Executable.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach ((string name, string value) in EnvironmentVariables)
        {
            info.Environment[name] = value;
        }
        foreach (string argument in (string[])[.. Executable.PrefixArguments, "run", "--data", DataFolder, "--listen", $"127.0.0.1:{port}", .. ExtraArguments])
        {
            info.ArgumentList.Add(argument);
        }
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        DataReceivedEventHandler collect = (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (_output)
            {
                _output.AppendLine(e.Data);
            }
            Match m = ListeningLine().Match(e.Data);
            if (m.Success)
            {
                listening.TrySetResult(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        };
        process.OutputDataReceived += collect;
        process.ErrorDataReceived += collect;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("iotpe exited during start-up:\n" + Output));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Task finished = await Task.WhenAny(listening.Task, Task.Delay(Executable.StartTimeout));
        if (finished != listening.Task)
        {
            Kill();
            throw new TimeoutException($"iotpe did not start listening within {Executable.StartTimeout.TotalSeconds} s:\n" + Output);
        }
        Port = await listening.Task;
    }

    /// <summary>The port a named listener got (for listeners configured with port 0).</summary>
    public int PortOf(string listenerName)
    {
        var pattern = new Regex(@"Listening on [^ ]+:(\d+) \(" + Regex.Escape(listenerName) + ", ");
        for (int attempt = 0; attempt < 250; attempt++)
        {
            Match m = pattern.Match(Output);
            if (m.Success)
            {
                return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            }
            Thread.Sleep(20); // log lines arrive asynchronously
        }
        throw new InvalidOperationException($"listener {listenerName} is not listening:\n{Output}");
    }

    /// <summary>True if a TCP connection to the broker succeeds now.</summary>
    public bool AcceptsConnections()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
        _process?.Dispose();
        try
        {
            Directory.Delete(DataFolder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    [GeneratedRegex(@"Listening on 127\.0\.0\.1:(\d+) \(mqtt, mqtt\)")]
    private static partial Regex ListeningLine();
}

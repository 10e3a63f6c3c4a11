using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>The published iotpe binary (artifacts/&lt;rid&gt;/iotpe, or $IOTPE_BINARY), anonymous clients allowed.</summary>
public sealed partial class IotpeBroker : TestBroker
{
    private readonly BrokerProcess _process = new();
    private readonly string _dataFolder;
    private int _port;

    private IotpeBroker(string dataFolder) => _dataFolder = dataFolder;

    public override string Name => "iotpe";

    public override int Port => _port;

    public override string Output => _process.Output;

    /// <summary>Starts iotpe on <paramref name="port"/> (0: any free port).</summary>
    public static async Task<IotpeBroker> StartAsync(int port = 0)
    {
        var broker = new IotpeBroker(Directory.CreateTempSubdirectory("iotpe-client-tests-").FullName);
        await broker.StartProcessAsync(port);
        return broker;
    }

    public override void Kill() => _process.Kill();

    public override Task RestartAsync() => StartProcessAsync(_port);

    public override async ValueTask DisposeAsync()
    {
        await _process.StopAsync();
        try
        {
            Directory.Delete(_dataFolder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static string BinaryPath
    {
        get
        {
            string? configured = Environment.GetEnvironmentVariable("IOTPE_BINARY");
            if (!string.IsNullOrEmpty(configured))
            {
                return configured;
            }

            string rid = RuntimeInformation.OSArchitecture switch
            {
                Architecture.Arm64 => "linux-arm64",
                Architecture.Arm => "linux-arm",
                _ => "linux-x64",
            };
            for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "IoTPE.sln")))
                {
                    string path = Path.Combine(dir.FullName, "artifacts", rid, "iotpe");
                    return File.Exists(path)
                        ? path
                        : throw new FileNotFoundException($"The published iotpe binary is missing: run ./build/publish.sh --rid {rid} first.", path);
                }
            }

            throw new InvalidOperationException("Cannot find the repository root (IoTPE.sln).");
        }
    }

    private async Task StartProcessAsync(int port)
    {
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process.Start(
            BinaryPath,
            ["run", "--data", _dataFolder, "--listen", $"127.0.0.1:{port}", "--allow-anonymous"],
            line =>
            {
                Match match = ListeningLine().Match(line);
                if (match.Success)
                {
                    listening.TrySetResult(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
                }
            });
        try
        {
            _port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            _process.Kill();
            throw new TimeoutException("iotpe did not start listening within 30 s:\n" + Output);
        }
    }

    [GeneratedRegex(@"Listening on 127\.0\.0\.1:(\d+) \(mqtt, mqtt\)")]
    private static partial Regex ListeningLine();
}

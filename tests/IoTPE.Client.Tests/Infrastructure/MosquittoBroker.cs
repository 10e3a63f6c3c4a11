using System.Globalization;

namespace IoTPE.Client.Tests.Infrastructure;

/// <summary>
/// Debian's mosquitto on a free loopback port with a temporary configuration: anonymous clients (unless a password
/// file is given), persistence in its own folder, optionally a TLS listener instead of plain TCP.
/// </summary>
public sealed class MosquittoBroker : TestBroker
{
    private readonly BrokerProcess _process = new();
    private readonly string _folder;
    private readonly string _config;
    private readonly int _port;

    private MosquittoBroker(string folder, string config, int port)
    {
        _folder = folder;
        _config = config;
        _port = port;
    }

    public override string Name => "mosquitto";

    public override int Port => _port;

    public override string Output => _process.Output;

    public string Folder => _folder;

    /// <summary>Starts mosquitto; <paramref name="extraConfig"/> lines go into the listener's section.</summary>
    public static async Task<MosquittoBroker> StartAsync(bool persistence = true, string? extraConfig = null, int? port = null)
    {
        string folder = Directory.CreateTempSubdirectory("mosquitto-client-tests-").FullName;
        int chosen = port ?? BrokerProcess.FreePort();
        string config = Path.Combine(folder, "mosquitto.conf");
        string text = string.Join('\n', [
            "per_listener_settings false",
            "user root",
            $"persistence {(persistence ? "true" : "false")}",
            $"persistence_location {folder}/",
            "max_queued_messages 100000",
            "max_inflight_messages 20",
            extraConfig?.Contains("allow_anonymous", StringComparison.Ordinal) == true ? string.Empty : "allow_anonymous true",
            string.Create(CultureInfo.InvariantCulture, $"listener {chosen} 127.0.0.1"),
            extraConfig ?? string.Empty,
            string.Empty]);
        await File.WriteAllTextAsync(config, text);
        var broker = new MosquittoBroker(folder, config, chosen);
        await broker.StartProcessAsync();
        return broker;
    }

    public override void Kill() => _process.Kill();

    /// <summary>SIGTERM: mosquitto saves its persistence file and exits.</summary>
    public Task StopAsync() => _process.StopAsync();

    public override Task RestartAsync() => StartProcessAsync();

    public override async ValueTask DisposeAsync()
    {
        await _process.StopAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private async Task StartProcessAsync()
    {
        _process.Start("mosquitto", ["-c", _config]);
        await _process.WaitForPortAsync(_port, TimeSpan.FromSeconds(15));
    }
}

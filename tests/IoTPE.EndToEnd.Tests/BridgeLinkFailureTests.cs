using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// The bridge through failures of the link rather than of either broker: a link that goes silent
/// without a FIN (a TCP proxy in the test that black-holes the traffic), a central that refuses the
/// bridge's login for a while, and a central Mosquitto stopped and started mid-stream. A persistent
/// QoS 2 subscriber at the central checks every sequence number.
/// </summary>
public sealed class BridgeLinkFailureTests
{
    [Fact]
    public async Task A_link_that_goes_silent_without_a_fin_is_noticed_by_keep_alive_and_loses_and_duplicates_nothing()
    {
        await using IotpeServer central = await IotpeServer.StartAsync();
        using OutputCollector subscriber = await BridgeTests.SubscribeAtCentralAsync($"mqtt://127.0.0.1:{central.Port}", "fwd/silent", "silent");
        await using var proxy = new BlackHoleProxy(central.Port);
        await using IotpeServer edge = await BridgeTests.StartEdgeAsync(proxy.Port, extraKeys: "\"keepAlive\": 2,");
        Assert.True(await edge.WaitForOutputAsync("Bridge central: connected", TimeSpan.FromSeconds(30)), edge.Output);

        using OutputCollector publisher = BridgeTests.StartPublisherAtEdge(edge, "fwd/silent", "silent", slowAfter: 200);
        Assert.True(await subscriber.WaitUntilAsync(() => BridgeTests.SequenceNumbers(subscriber).Count >= 100, TimeSpan.FromSeconds(30)), subscriber.Error + edge.Output);
        proxy.BlackHole();
        int arrivedAtCut = BridgeTests.SequenceNumbers(subscriber).Count;
        Assert.True(arrivedAtCut < BridgeTests.Messages, "the stream ended before the cut; nothing was tested");

        // Nothing reaches either end, and TCP reports nothing: only the keep alive can tell.
        Assert.True(await edge.WaitForOutputAsync("did not answer PINGREQ", TimeSpan.FromSeconds(20)), edge.Output);
        proxy.DropAll();
        Assert.True(await edge.WaitForOutputAsync("Bridge central: connected", 2, TimeSpan.FromSeconds(30)), edge.Output);
        Assert.True(await publisher.WaitForLineAsync(l => l == "done", TimeSpan.FromSeconds(60)), publisher.Error);

        await BridgeTests.AssertEveryMessageOnceAsync(subscriber);
    }

    [Fact]
    public async Task A_central_that_refuses_the_login_for_a_while_gets_every_message_once_when_it_accepts_again()
    {
        const string Account = "e7a11ce0b0b1";
        await using IotpeServer central = await IotpeServer.StartAsync(allowAnonymous: false);
        await AddAccountAsync(central, Account, "secret");
        string topic = $"/{Account}/fwd/login";
        using OutputCollector subscriber = await BridgeTests.SubscribeAtCentralAsync($"mqtt://{Account}:secret@127.0.0.1:{central.Port}", topic, "login");
        await ChangePasswordAsync(central, Account, "changed-at-the-central");

        await using IotpeServer edge = await BridgeTests.StartEdgeAsync(central.Port, forward: [$"/{Account}/fwd/#"], receive: [],
            userName: Account, password: "secret");
        // The same account at the edge: its topics are its own on both sides.
        await AddAccountAsync(edge, Account, "secret");
        await BridgeTests.PublishAtEdgeAsync(edge, topic, "login", credentials: $"{Account}:secret");
        Assert.True(await edge.WaitForOutputAsync("Bridge central: not connected", 2, TimeSpan.FromSeconds(30)), edge.Output);
        Assert.Empty(BridgeTests.SequenceNumbers(subscriber));
        Assert.DoesNotContain("Bridge central: connected", edge.Output, StringComparison.Ordinal);

        await ChangePasswordAsync(central, Account, "secret");
        await BridgeTests.AssertEveryMessageOnceAsync(subscriber);
    }

    [Fact]
    public async Task A_central_mosquitto_stopped_and_started_mid_stream_gets_every_message()
    {
        await using var mosquitto = await MosquittoCentral.StartAsync();
        using OutputCollector subscriber = await BridgeTests.SubscribeAtCentralAsync($"mqtt://127.0.0.1:{mosquitto.Port}", "fwd/mosquitto", "mosquitto");
        await using IotpeServer edge = await BridgeTests.StartEdgeAsync(mosquitto.Port);
        Assert.True(await edge.WaitForOutputAsync("Bridge central: connected", TimeSpan.FromSeconds(30)), edge.Output);

        // A stream slow enough (2 ms a message after the first 200) to be still running at the stop.
        using OutputCollector publisher = BridgeTests.StartPublisherAtEdge(edge, "fwd/mosquitto", "mosquitto", slowAfter: 200);
        Assert.True(await subscriber.WaitUntilAsync(() => BridgeTests.SequenceNumbers(subscriber).Count >= 200, TimeSpan.FromSeconds(30)), subscriber.Error + edge.Output);
        Assert.DoesNotContain("done", publisher.Lines);
        await mosquitto.StopAsync(); // SIGTERM: Mosquitto saves its persistence file on the way out
        Assert.True(File.Exists(Path.Combine(mosquitto.Folder, "mosquitto.db")), mosquitto.Log);
        Assert.True(await publisher.WaitForLineAsync(l => l == "done", TimeSpan.FromSeconds(60)), publisher.Error); // the rest queues at the edge
        await mosquitto.StartAgainAsync();

        // Mosquitto does not keep the bridge's QoS 2 state as iotpe does, so only "none lost" holds.
        Assert.True(await subscriber.WaitUntilAsync(() => BridgeTests.SequenceNumbers(subscriber).Count >= BridgeTests.Messages, TimeSpan.FromSeconds(60)),
            $"{BridgeTests.SequenceNumbers(subscriber).Count} of {BridgeTests.Messages} arrived: " + subscriber.Error + edge.Output + mosquitto.Log);
        Assert.Equal(Enumerable.Range(1, BridgeTests.Messages), BridgeTests.SequenceNumbers(subscriber).Order());
    }

    // The running engine takes a new account up within a second: wait for that, not for a time.
    private static async Task AddAccountAsync(IotpeServer server, string account, string password)
    {
        int reloads = server.CountOutput("Accounts reloaded");
        await server.AddAccountAsync(account, password);
        Assert.True(await server.WaitForOutputAsync("Accounts reloaded", reloads + 1, TimeSpan.FromSeconds(10)), server.Output);
    }

    private static async Task ChangePasswordAsync(IotpeServer central, string account, string password)
    {
        int reloads = central.CountOutput("Accounts reloaded");
        Assert.Equal(0, (await central.CommandAsync(["account", "passwd", account, "--password-stdin"], password + "\n")).ExitCode);
        Assert.True(await central.WaitForOutputAsync("Accounts reloaded", reloads + 1, TimeSpan.FromSeconds(10)), central.Output);
    }

    /// <summary>Debian's <c>mosquitto</c> with persistence in a temporary folder, on a free loopback port.</summary>
    private sealed class MosquittoCentral : IAsyncDisposable
    {
        private readonly string _folder;
        private Process? _process;

        private MosquittoCentral(string folder, int port)
        {
            _folder = folder;
            Port = port;
        }

        public int Port { get; }

        /// <summary>Where its configuration, persistence file and log are.</summary>
        public string Folder => _folder;

        /// <summary>Mosquitto's log so far, for failure messages.</summary>
        public string Log => File.Exists(Path.Combine(_folder, "mosquitto.log")) ? File.ReadAllText(Path.Combine(_folder, "mosquitto.log")) : "";

        public static async Task<MosquittoCentral> StartAsync()
        {
            string folder = Directory.CreateTempSubdirectory("iotpe-mosquitto-").FullName;
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            // A queue and an inflight window large enough that Mosquitto itself drops nothing for the
            // subscriber; persistence so that its state survives the stop.
            // Mosquitto started as root runs as the user "mosquitto": it must be able to write there.
            if (OperatingSystem.IsWindows())
            {
                throw new PlatformNotSupportedException("Mosquitto tests run on Linux");
            }
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead |
                UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
            await File.WriteAllTextAsync(Path.Combine(folder, "mosquitto.conf"), $"""
                listener {port} 127.0.0.1
                allow_anonymous true
                max_inflight_messages 100
                max_queued_messages 1000000
                persistence true
                persistence_location {folder}/
                log_dest file {folder}/mosquitto.log
                """);
            var central = new MosquittoCentral(folder, port);
            await central.StartAgainAsync();
            return central;
        }

        public async Task StartAgainAsync()
        {
            var info = new ProcessStartInfo("mosquitto") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(Path.Combine(_folder, "mosquitto.conf"));
            _process = Process.Start(info)!;
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, Port);
                    return;
                }
                catch (SocketException)
                {
                    await Task.Delay(50); // polling for the listener: there is no event to wait for
                }
            }
            throw new TimeoutException("mosquitto did not start listening on " + Port.ToString(CultureInfo.InvariantCulture));
        }

        public async Task StopAsync()
        {
            if (_process is null || _process.HasExited)
            {
                return;
            }
            _ = await ProcessRun.RunAsync("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _process.WaitForExitAsync(cts.Token);
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _process?.Dispose();
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }
    }
}

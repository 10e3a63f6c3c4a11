using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using IoTPE.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// The Raspberry Pi binary (linux-arm64 NativeAOT, cross-compiled here) under qemu-aarch64: what
/// it links against, and that it serves as a broker and engine like the host's binary. Kept small:
/// emulation is 10–50× slower than native.
/// </summary>
public sealed partial class Arm64BinaryTests(ITestOutputHelper output)
{
    private const string Account = "acme";
    private const string Password = "s3cret-pw";

    [Fact]
    public async Task The_binary_is_aarch64_and_needs_only_libc_libm_and_the_loader()
    {
        IotpeExecutable qemu = Arm64Binary.UnderQemu;
        ProcessRun file = await ProcessRun.RunAsync("file", ["-b", Arm64Binary.Path]);
        Assert.Contains("ARM aarch64", file.StandardOutput, StringComparison.Ordinal);
        ProcessRun dynamic = await ProcessRun.RunAsync("llvm-readelf", ["--dynamic", Arm64Binary.Path]);
        string[] needed = [.. NeededLine().Matches(dynamic.StandardOutput).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal)];
        Assert.Equal(["ld-linux-aarch64.so.1", "libc.so.6", "libm.so.6"], needed);

        var stopwatch = Stopwatch.StartNew();
        ProcessRun version = await ProcessRun.RunAsync(qemu.FileName, [.. qemu.PrefixArguments, "--version"], qemu.StartTimeout);
        Assert.True(version.ExitCode == 0, version.StandardError);
        Assert.Contains("linux-arm64", version.StandardOutput, StringComparison.Ordinal);
        output.WriteLine($"arm64 iotpe: {new FileInfo(Arm64Binary.Path).Length / 1024.0 / 1024.0:F1} MiB; `iotpe --version` under qemu took {stopwatch.ElapsedMilliseconds} ms: {version.StandardOutput.Trim()}");
    }

    [Fact]
    public async Task Under_qemu_it_logs_an_account_in_round_trips_qos_0_1_2_and_runs_a_stored_script()
    {
        string configuration = SlowClientConfiguration();
        try
        {
            var stopwatch = Stopwatch.StartNew();
            await using IotpeServer server = await IotpeServer.StartAsync(["--config", configuration], allowAnonymous: false, executable: Arm64Binary.UnderQemu);
            output.WriteLine($"arm64 iotpe under qemu: exec to listening in {stopwatch.ElapsedMilliseconds} ms (empty data folder)");
            await server.AddAccountAsync(Account, Password);
            Assert.True(await server.WaitForOutputAsync("Accounts reloaded: 1 account", TimeSpan.FromSeconds(60)), server.Output);
            // Each login costs a PBKDF2 (210,000 rounds) under emulation: a few clients do everything.
            string[] login = ["-u", Account, "-P", Password];

            // QoS 1, retained: received on subscribing, which also proves the subscription is in place.
            await PublishAsync(server, [.. login, "-q", "1", "-r", "-t", "/acme/q1", "-m", "hello 1"]);
            using OutputCollector subscriber = MosquittoClients.StartSubscriber(server.Port, [.. login, "-q", "2", "-t", "/acme/#", "-v"]);
            Assert.True(await subscriber.WaitForLineAsync(l => l == "/acme/q1 hello 1", TimeSpan.FromSeconds(120)), subscriber.Error + server.Output);
            await PublishAsync(server, [.. login, "-q", "0", "-t", "/acme/q0", "-m", "hello 0"]);
            await PublishAsync(server, [.. login, "-q", "2", "-t", "/acme/q2", "-m", "hello 2"]);
            IReadOnlyList<string> received = await subscriber.WaitForLinesAsync(3, TimeSpan.FromSeconds(60));
            Assert.Equal(["/acme/q1 hello 1", "/acme/q0 hello 0", "/acme/q2 hello 2"], received.Take(3));

            string file = Path.Combine(server.DataFolder, "double.src.js");
            await File.WriteAllTextAsync(file, "kv.set('runs', (kv.get('runs') || 0) + 1); return { doubled: message.json.n * 2, runs: kv.get('runs') };");
            ProcessRun load = await server.CommandAsync(["script", "load", Account, "double", file]);
            Assert.True(load.ExitCode == 0, load.StandardError);
            await PublishAsync(server, [.. login, "-q", "1", "-t", "/acme/run/double", "-m", """{"n":21}"""]);
            Assert.True(await subscriber.WaitForLineAsync(l => l == """/acme/run/double/result {"doubled":42,"runs":1}""", TimeSpan.FromSeconds(60)),
                string.Join('\n', subscriber.Lines) + server.Output);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(configuration)!, recursive: true);
        }
    }

    [Fact]
    public async Task Under_qemu_every_acknowledged_qos_2_message_arrives_exactly_once_after_kill_9()
    {
        // Enough that the stream, slowed to one publish per 2 ms after the 100th acknowledgement,
        // is still running when the kill lands (400 finished first once on a quiet machine).
        const int Messages = 1000;
        string configuration = SlowClientConfiguration();
        await using IotpeServer server = await IotpeServer.StartAsync(["--config", configuration], executable: Arm64Binary.UnderQemu);
        string url = $"mqtt://127.0.0.1:{server.Port}";
        using OutputCollector subscriber = MqttJs.StartScript("sequence-subscriber.js", url, "arm/q2", "2", "arm-sub", "5");
        Assert.True(await subscriber.WaitForLineAsync(l => l == "subscribed", TimeSpan.FromSeconds(60)), subscriber.Error);
        using OutputCollector publisher = MqttJs.StartScript("sequence-publisher.js", url, "arm/q2", "2", Messages.ToString(CultureInfo.InvariantCulture),
            "arm-pub", "5", "20", "100");

        Assert.True(await publisher.WaitForLineAsync(l => l == "acked 100", TimeSpan.FromSeconds(120)), publisher.Error + server.Output);
        server.Kill();
        HashSet<int> ackedBeforeKill = Sequence(publisher.Lines, "acked ");
        Assert.True(ackedBeforeKill.Count < Messages, "the stream finished before the kill; nothing was tested");
        await server.RestartAsync();

        Assert.True(await publisher.WaitForLineAsync(l => l == "done", TimeSpan.FromSeconds(180)), "publisher did not finish: " + publisher.Error);
        Assert.True(await subscriber.WaitForLineAsync(_ => Sequence(subscriber.Lines, "got ").Count >= Messages, TimeSpan.FromSeconds(120)),
            $"{Sequence(subscriber.Lines, "got ").Count} of {Messages} arrived");
        // A duplicate would come behind the last new message: a marker published after it, on the
        // same session's topic, proves the queue has drained up to it.
        ProcessRun marker = await MosquittoClients.PublishAsync(server.Port, "-q", "2", "-t", "arm/q2", "-m", "0");
        Assert.Equal(0, marker.ExitCode);
        Assert.True(await subscriber.WaitForLineAsync(l => l == "got 0", TimeSpan.FromSeconds(60)), "the marker did not arrive");

        List<int> received = [.. subscriber.Lines.Where(l => l.StartsWith("got ", StringComparison.Ordinal)).Select(l => int.Parse(l[4..], CultureInfo.InvariantCulture)).Where(n => n != 0)];
        Assert.DoesNotContain(ackedBeforeKill, n => !received.Contains(n));
        Assert.Equal(Messages, received.Distinct().Count());
        Assert.Equal(received.Count, received.Distinct().Count()); // exactly once
        Directory.Delete(Path.GetDirectoryName(configuration)!, recursive: true);
    }

    private static async Task PublishAsync(IotpeServer server, string[] arguments)
    {
        ProcessRun run = await ProcessRun.RunAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", server.Port.ToString(CultureInfo.InvariantCulture), .. arguments], TimeSpan.FromSeconds(120));
        Assert.True(run.ExitCode == 0, $"mosquitto_pub {string.Join(' ', arguments)}: {run.StandardError}\n{server.Output}");
    }

    /// <summary>A configuration that gives a client 2 minutes to send CONNECT: emulation is slow.</summary>
    private static string SlowClientConfiguration()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("iotpe-arm64-").FullName, "iotpe.json");
        File.WriteAllText(path, """{ "broker": { "connectTimeoutSeconds": 120 } }""");
        return path;
    }

    private static HashSet<int> Sequence(IEnumerable<string> lines, string prefix) =>
        [.. lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => int.Parse(l[prefix.Length..], CultureInfo.InvariantCulture))];

    [GeneratedRegex(@"\(NEEDED\)\s+Shared library: \[([^\]]+)\]")]
    private static partial Regex NeededLine();
}

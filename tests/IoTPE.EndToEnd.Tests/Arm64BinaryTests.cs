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
        var stopwatch = Stopwatch.StartNew();
        await using IotpeServer server = await IotpeServer.StartAsync(allowAnonymous: false, executable: Arm64Binary.UnderQemu);
        output.WriteLine($"arm64 iotpe under qemu: exec to listening in {stopwatch.ElapsedMilliseconds} ms (empty data folder)");
        await server.AddAccountAsync(Account, Password);
        Assert.True(await server.WaitForOutputAsync("Accounts reloaded: 1 account", TimeSpan.FromSeconds(60)), server.Output);
        string[] login = ["-u", Account, "-P", Password];

        // A retained message received on subscribing proves the subscription is in place.
        ProcessRun retained = await MosquittoClients.PublishAsync(server.Port, [.. login, "-q", "1", "-r", "-t", "/acme/ready", "-m", "yes"]);
        Assert.True(retained.ExitCode == 0, retained.StandardError);
        using OutputCollector subscriber = MosquittoClients.StartSubscriber(server.Port, [.. login, "-q", "2", "-t", "/acme/#", "-v"]);
        Assert.True(await subscriber.WaitForLineAsync(l => l == "/acme/ready yes", TimeSpan.FromSeconds(60)), subscriber.Error + server.Output);
        foreach (string qos in (string[])["0", "1", "2"])
        {
            ProcessRun publish = await MosquittoClients.PublishAsync(server.Port, [.. login, "-q", qos, "-t", "/acme/q" + qos, "-m", "hello " + qos]);
            Assert.True(publish.ExitCode == 0, publish.StandardError);
        }
        IReadOnlyList<string> received = await subscriber.WaitForLinesAsync(4, TimeSpan.FromSeconds(60));
        Assert.Equal(["/acme/q0 hello 0", "/acme/q1 hello 1", "/acme/q2 hello 2"], received.Skip(1).Take(3));

        string file = Path.Combine(server.DataFolder, "double.src.js");
        await File.WriteAllTextAsync(file, "kv.set('runs', (kv.get('runs') || 0) + 1); return { doubled: message.json.n * 2, runs: kv.get('runs') };");
        ProcessRun load = await server.CommandAsync(["script", "load", Account, "double", file]);
        Assert.True(load.ExitCode == 0, load.StandardError);
        ProcessRun publishRun = await MosquittoClients.PublishAsync(server.Port, [.. login, "-q", "1", "-t", "/acme/run/double", "-m", """{"n":21}"""]);
        Assert.True(publishRun.ExitCode == 0, publishRun.StandardError);
        Assert.True(await subscriber.WaitForLineAsync(l => l.StartsWith("/acme/run/double/result ", StringComparison.Ordinal) && l.EndsWith("""{"doubled":42,"runs":1}""", StringComparison.Ordinal), TimeSpan.FromSeconds(60)),
            string.Join('\n', subscriber.Lines) + server.Output);
    }

    [Fact]
    public async Task Under_qemu_every_acknowledged_qos_2_message_arrives_exactly_once_after_kill_9()
    {
        const int Messages = 400;
        await using IotpeServer server = await IotpeServer.StartAsync(executable: Arm64Binary.UnderQemu);
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
    }

    private static HashSet<int> Sequence(IEnumerable<string> lines, string prefix) =>
        [.. lines.Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => int.Parse(l[prefix.Length..], CultureInfo.InvariantCulture))];

    [GeneratedRegex(@"\(NEEDED\)\s+Shared library: \[([^\]]+)\]")]
    private static partial Regex NeededLine();
}

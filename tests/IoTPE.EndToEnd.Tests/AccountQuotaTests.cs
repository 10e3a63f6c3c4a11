using System.Text;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// Issue 10, case 5: what one account stores is bounded by quotas from the configuration file —
/// bytes of kv entries, versions and bytes of stored scripts, bytes of retained messages in its
/// namespace — and hitting one is a clear error for the script, the management request or the
/// MQTT publisher, and a log line.
/// </summary>
public sealed class AccountQuotaTests : IAsyncLifetime
{
    private const string Password = "s3cret-pw";
    private static readonly (string Setting, string Value)[] OutOfRange =
        [("maxKvBytesPerAccount", "10"), ("maxScriptVersions", "0"), ("maxRetainedBytesPerAccount", "-1")];
    private IotpeServer _server = null!;
    private string _config = null!;

    public async Task InitializeAsync()
    {
        _config = Path.GetTempFileName();
        await File.WriteAllTextAsync(_config, """
            { "engine": { "maxKvBytesPerAccount": 4096, "maxScriptVersions": 3, "maxScriptBytesPerAccount": 100000, "maxRetainedBytesPerAccount": 2048 } }
            """);
        _server = await IotpeServer.StartAsync(["--config", _config], allowAnonymous: false);
        await _server.AddAccountAsync("acme", Password);
        Assert.True(await _server.WaitForOutputAsync("Accounts reloaded: 1 accounts"), _server.Output);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_config);
    }

    private string[] Login => ["-u", "acme", "-P", Password];

    private Task<OutputCollector> SubscribeAsync(string filter) => MosquittoClients.StartSubscriberAsync(_server.Port, [.. Login, "-t", filter, "-v", "-q", "1"]);

    private static bool IsMessage(string line) => line.StartsWith('/');

    private async Task<string> RunAsync(string name, string script)
    {
        string file = Path.Combine(_server.DataFolder, name + ".js");
        await File.WriteAllTextAsync(file, script);
        ProcessRun load = await _server.CommandAsync(["script", "load", "acme", name, file]);
        Assert.True(load.ExitCode == 0, load.StandardError);
        using OutputCollector outcome = await SubscribeAsync($"/acme/run/{name}/+");
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, [.. Login, "-q", "1", "-t", $"/acme/run/{name}", "-m", "{}"])).ExitCode);
        Assert.True(await outcome.WaitForLineAsync(IsMessage, TimeSpan.FromSeconds(10)), outcome.Error);
        return outcome.Lines.First(IsMessage);
    }

    [Fact]
    public async Task Kv_entries_stop_at_the_accounts_byte_quota_with_a_script_error()
    {
        // 1 KB values: four fit into 4096 bytes with their keys, the fifth does not.
        string line = await RunAsync("fill", """
            var big = new Array(1001).join('x');
            for (var i = 0; i < 10; i++) { kv.set('k' + i, big); }
            return 'all stored';
            """);
        Assert.StartsWith("/acme/run/fill/error ", line, StringComparison.Ordinal);
        Assert.Contains("maxKvBytesPerAccount", line, StringComparison.Ordinal);
        Assert.True(await _server.WaitForOutputAsync("acme: quota reached: kv.set"), _server.Output);

        // What fitted is kept; replacing a value with a smaller one and removing keys still work.
        string after = await RunAsync("check", """
            kv.set('k0', 1);
            kv.remove('k1');
            kv.set('k9', new Array(1001).join('y'));
            return [kv.get('k3') !== null, kv.get('k4'), kv.get('k0'), kv.get('k9').length];
            """);
        Assert.Equal("/acme/run/check/result [true,null,1,1000]", after);
    }

    [Fact]
    public async Task Reloading_a_script_keeps_a_bounded_number_of_versions_and_a_load_beyond_the_bytes_quota_is_refused()
    {
        using OutputCollector results = await SubscribeAsync("/acme/script/result");
        string text = "// " + new string('x', 30_000) + "\nreturn 1;";
        string file = Path.Combine(_server.DataFolder, "big.js");
        await File.WriteAllTextAsync(file, text);
        for (int i = 1; i <= 8; i++)
        {
            Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, [.. Login, "-q", "1", "-t", "/acme/script/load/big", "-f", file])).ExitCode);
        }
        Assert.True(await results.WaitForLineAsync(l => l.Contains("\"version\":8", StringComparison.Ordinal), TimeSpan.FromSeconds(20)),
            string.Join('\n', results.Lines));
        Assert.DoesNotContain(results.Lines, l => l.Contains("\"ok\":false", StringComparison.Ordinal));

        // Three versions are kept (90 KB), not eight (240 KB): the oldest are gone.
        Assert.Equal(0, (await _server.CommandAsync(["script", "show", "acme", "big", "--version", "6"])).ExitCode);
        Assert.NotEqual(0, (await _server.CommandAsync(["script", "show", "acme", "big", "--version", "5"])).ExitCode);

        // Another 30 KB script would take the account to 120 KB, over its 100,000 bytes.
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, [.. Login, "-q", "1", "-t", "/acme/script/load/other", "-f", file])).ExitCode);
        Assert.True(await results.WaitForLineAsync(l => l.Contains("\"name\":\"other\"", StringComparison.Ordinal), TimeSpan.FromSeconds(10)),
            string.Join('\n', results.Lines));
        string refused = results.Lines.First(l => l.Contains("\"name\":\"other\"", StringComparison.Ordinal));
        Assert.Contains("\"ok\":false", refused, StringComparison.Ordinal);
        Assert.Contains("maxScriptBytesPerAccount", refused, StringComparison.Ordinal);
        Assert.NotEqual(0, (await _server.CommandAsync(["script", "show", "acme", "other"])).ExitCode);
        Assert.True(await _server.WaitForOutputAsync("acme: quota reached: script load other"), _server.Output);
    }

    [Fact]
    public async Task A_retained_publish_beyond_the_namespace_quota_is_refused_at_every_QoS_and_from_scripts()
    {
        string kilobyte = new('r', 1000);
        // Two retained messages of 1000 bytes (plus their topics) fit into 2048 bytes.
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, [.. Login, "-V", "mqttv5", "-q", "1", "-r", "-t", "/acme/r1", "-m", kilobyte])).ExitCode);
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, [.. Login, "-V", "mqttv5", "-q", "1", "-r", "-t", "/acme/r2", "-m", kilobyte])).ExitCode);

        // MQTT 5.0, QoS 1: PUBACK with 0x97 Quota exceeded.
        ProcessRun v5 = await MosquittoClients.PublishAsync(_server.Port, [.. Login, "-V", "mqttv5", "-q", "1", "-r", "-t", "/acme/r3", "-m", kilobyte, "-d"]);
        Assert.Contains("Quota exceeded", v5.StandardOutput + v5.StandardError, StringComparison.Ordinal);

        // QoS 0: dropped and logged.
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, [.. Login, "-q", "0", "-r", "-t", "/acme/r4", "-m", kilobyte])).ExitCode);
        Assert.True(await _server.WaitForOutputAsync("to '/acme/r4': QuotaExceeded"), _server.Output);

        // MQTT 3.1.1, QoS 1: not acknowledged (a later publish is), so the client keeps it to resend.
        using (RawConnection raw = await RawConnection.OpenAsync(_server.Port))
        {
            await raw.SendAsync(Connect311("q311", "acme", Password));
            Assert.Equal(RawConnection.Hex("20 02 00 00"), await raw.ReadAsync(4, TimeSpan.FromSeconds(5)));
            await raw.SendAsync(Publish311("/acme/r5", kilobyte, packetIdentifier: 1, retain: true));
            await raw.SendAsync(Publish311("/acme/ok", "fine", packetIdentifier: 2, retain: false));
            Assert.Equal(RawConnection.Hex("40 02 00 02"), await raw.ReadAsync(4, TimeSpan.FromSeconds(5)));
        }

        // A script's retained publish over the quota is an error the script sees.
        string line = await RunAsync("keep", "publish('/acme/r6', new Array(1001).join('s'), { qos: 1, retain: true }); return 'published';");
        Assert.StartsWith("/acme/run/keep/error ", line, StringComparison.Ordinal);
        Assert.Contains("maxRetainedBytesPerAccount", line, StringComparison.Ordinal);

        // Replacing a retained message frees its bytes, so it always fits; the refused ones were never retained.
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, [.. Login, "-V", "mqttv5", "-q", "1", "-r", "-t", "/acme/r1", "-m", "new " + kilobyte[4..]])).ExitCode);
        using OutputCollector retained = await SubscribeAsync("/acme/#");
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, [.. Login, "-q", "1", "-t", "/acme/marker", "-m", "end"])).ExitCode);
        Assert.True(await retained.WaitForLineAsync(l => l == "/acme/marker end", TimeSpan.FromSeconds(10)), string.Join('\n', retained.Lines));
        Assert.Equal(["/acme/r1 new " + kilobyte[4..], "/acme/r2 " + kilobyte, "/acme/marker end"],
            retained.Lines.Where(IsMessage).OrderBy(l => l.StartsWith("/acme/marker", StringComparison.Ordinal)).ThenBy(l => l, StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_quota_out_of_range_stops_the_start_with_a_message_naming_it()
    {
        foreach ((string setting, string value) in OutOfRange)
        {
            string config = Path.GetTempFileName();
            try
            {
                await File.WriteAllTextAsync(config, $$"""{ "engine": { "{{setting}}": {{value}} } }""");
                ProcessRun run = await ProcessRun.RunAsync(IotpeBinary.Path, ["run", "--config", config, "--data", _server.DataFolder + "-unused"], TimeSpan.FromSeconds(20));
                Assert.Equal(2, run.ExitCode);
                Assert.Contains($"engine.{setting} must be at least", run.StandardError, StringComparison.Ordinal);
            }
            finally
            {
                File.Delete(config);
            }
        }
    }

    private static byte[] Connect311(string clientId, string userName, string password)
    {
        byte[] body = [0, 4, .. "MQTT"u8, 4, 0xC2, 0, 60, .. Utf8String(clientId), .. Utf8String(userName), .. Utf8String(password)];
        return [0x10, .. RemainingLength(body.Length), .. body];
    }

    private static byte[] Publish311(string topic, string payload, ushort packetIdentifier, bool retain)
    {
        byte[] body = [.. Utf8String(topic), (byte)(packetIdentifier >> 8), (byte)packetIdentifier, .. Encoding.UTF8.GetBytes(payload)];
        return [(byte)(0x32 | (retain ? 1 : 0)), .. RemainingLength(body.Length), .. body];
    }

    private static byte[] Utf8String(string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        return [(byte)(bytes.Length >> 8), (byte)bytes.Length, .. bytes];
    }

    private static byte[] RemainingLength(int length)
    {
        var bytes = new List<byte>();
        do
        {
            byte digit = (byte)(length % 128);
            length /= 128;
            bytes.Add(length > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (length > 0);
        return [.. bytes];
    }
}

using System.Text.Json;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>
/// The gateway's pins in the published binary, on the simulated chip that the test-only
/// <c>IOTPE_GPIO_SIMULATED=&lt;fifo&gt;</c> selects (this machine has no GPIO chip): retained states,
/// set requests and their refusals, grants, scripts' <c>gpio</c> functions and <c>onEdge</c> runs with
/// bursts, safe values on stop; and the real driver's failure on this machine.
/// </summary>
public sealed class GpioTests : IAsyncLifetime
{
    private const string Password = "s3cret-pw";
    private readonly string _folder = Directory.CreateTempSubdirectory("iotpe-gpio-").FullName;
    private IotpeServer? _server;

    private string Feed => Path.Combine(_folder, "feed");

    private string Config => Path.Combine(_folder, "iotpe.json");

    private string Data => Path.Combine(_folder, "data");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Data);
        foreach (string account in new[] { "acme", "bob" })
        {
            ProcessRun add = await ProcessRun.RunAsync(IotpeBinary.Path, ["account", "add", account, "--password-stdin", "--data", Data], TimeSpan.FromSeconds(30), Password + "\n");
            Assert.True(add.ExitCode == 0, add.StandardError);
        }
        await LoadAsync("acme", "pressed", "publish('/acme/pressed', message.gpio, { qos: 1 }); return message.gpio.value;");
        await LoadAsync("acme", "blink", "gpio.write('led', message.json.v); return gpio.read('led');");
        await LoadAsync("bob", "peek", "return gpio.read('led');");
        ProcessRun fifo = await ProcessRun.RunAsync("mkfifo", [Feed]);
        Assert.True(fifo.ExitCode == 0, fifo.StandardError);
        await WriteConfigAsync("""
            { "name": "led", "account": "acme", "chip": 0, "line": 17, "direction": "output", "initialValue": 0 },
            { "name": "button", "account": "acme", "chip": 0, "line": 27, "direction": "input", "bias": "pullUp", "activeLow": true,
              "maxEdgesPerSecond": 5, "onEdge": "pressed" }
            """);
    }

    private async Task LoadAsync(string account, string name, string script)
    {
        string file = Path.Combine(_folder, name + ".js");
        await File.WriteAllTextAsync(file, script);
        ProcessRun load = await ProcessRun.RunAsync(IotpeBinary.Path, ["script", "load", account, name, file, "--data", Data], TimeSpan.FromSeconds(30));
        Assert.True(load.ExitCode == 0, load.StandardError);
    }

    private Task WriteConfigAsync(string pins) => File.WriteAllTextAsync(Config, "{ \"gpio\": { \"pins\": [" + pins + "] } }");

    private async Task<IotpeServer> StartSimulatedAsync()
    {
        _server = await IotpeServer.StartAsync(["--config", Config], Data, allowAnonymous: false,
            environment: new Dictionary<string, string> { ["IOTPE_GPIO_SIMULATED"] = Feed });
        return _server;
    }

    private static string[] Login(string account) => ["-u", account, "-P", Password];

    private Task<OutputCollector> SubscribeAsync(string account, string filter) =>
        MosquittoClients.StartSubscriberAsync(_server!.Port, [.. Login(account), "-t", filter, "-v", "-q", "1"]);

    private async Task PublishAsync(string account, string topic, string payload)
    {
        ProcessRun pub = await MosquittoClients.PublishAsync(_server!.Port, [.. Login(account), "-q", "1", "-t", topic, "-m", payload]);
        Assert.True(pub.ExitCode == 0, pub.StandardError);
    }

    // The FIFO is opened for each write; iotpe reads it on its own thread.
    private async Task DriveAsync(params string[] commands)
    {
        await using var fifo = new FileStream(Feed, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1);
        await fifo.WriteAsync(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', commands) + "\n"));
    }

    private static Func<string, bool> State(string topic, Func<JsonElement, bool> where) => line =>
    {
        if (!line.StartsWith(topic + " ", StringComparison.Ordinal))
        {
            return false;
        }
        using JsonDocument json = JsonDocument.Parse(line[(topic.Length + 1)..]);
        return where(json.RootElement);
    };

    [Fact]
    public async Task The_owner_reads_retained_states_and_drives_an_output_and_a_bad_set_is_refused_with_its_reason()
    {
        await StartSimulatedAsync();
        using OutputCollector states = await SubscribeAsync("acme", "/acme/gpio/#");
        // Retained: a subscriber that comes after the start gets both pins' states at once.
        Assert.True(await states.WaitForLineAsync(State("/acme/gpio/led", s => s.GetProperty("value").GetInt32() == 0)), string.Join('\n', states.Lines));
        Assert.True(await states.WaitForLineAsync(State("/acme/gpio/button", s => s.GetProperty("value").GetInt32() == 0)), string.Join('\n', states.Lines));

        await PublishAsync("acme", "/acme/gpio/led/set", "1");
        Assert.True(await states.WaitForLineAsync(State("/acme/gpio/led", s => s.GetProperty("value").GetInt32() == 1 && s.GetProperty("edge").GetString() == "rising")),
            string.Join('\n', states.Lines) + _server!.Output);

        await PublishAsync("acme", "/acme/gpio/button/set", "1");
        Assert.True(await states.WaitForLineAsync(l => l == """/acme/gpio/button/set/error {"error":"pin 'button' is an input; only outputs can be written","pin":"button"}"""),
            string.Join('\n', states.Lines));
        await PublishAsync("acme", "/acme/gpio/led/set", "bright");
        Assert.True(await states.WaitForLineAsync(l => l.StartsWith("/acme/gpio/led/set/error {\"error\":\"malformed value", StringComparison.Ordinal)), string.Join('\n', states.Lines));
    }

    [Fact]
    public async Task Another_account_reaches_a_pin_only_through_the_owners_grants()
    {
        await StartSimulatedAsync();
        using (OutputCollector refused = MosquittoClients.StartSubscriber(_server!.Port, [.. Login("bob"), "-t", "/acme/gpio/led", "-q", "1"]))
        {
            Assert.True(await refused.WaitForExitAsync(TimeSpan.FromSeconds(10)));
            Assert.True(refused.Error.Contains("Subscribe error", StringComparison.Ordinal) || refused.Error.Contains("subscription requests were denied", StringComparison.Ordinal),
                refused.Error);
        }
        using OutputCollector owner = await SubscribeAsync("acme", "/acme/#");
        // Not bob's to publish: the broker drops it (MQTT 3.1.1 has no way to say so; mosquitto_pub's exit code is not the point).
        await MosquittoClients.PublishAsync(_server.Port, [.. Login("bob"), "-q", "1", "-t", "/acme/gpio/led/set", "-m", "1"]);
        await PublishAsync("acme", "/acme/sentinel", "after bob"); // one connection gets messages in routing order
        Assert.True(await owner.WaitForLineAsync(l => l == "/acme/sentinel after bob"), string.Join('\n', owner.Lines));
        Assert.DoesNotContain(owner.Lines, l => l.Contains("\"edge\":\"rising\"", StringComparison.Ordinal));

        await PublishAsync("acme", "/acme/grant_pub_topic", """{"name":"gpio/led/set","accountId":"bob"}""");
        await PublishAsync("acme", "/acme/grant_sub_topic", """{"name":"gpio/led","accountId":"bob"}""");
        Assert.True(await owner.WaitForLineAsync(l => l.Contains("\"request\":\"grant_sub_topic\"", StringComparison.Ordinal)), string.Join('\n', owner.Lines));
        using OutputCollector bob = await SubscribeAsync("bob", "/acme/gpio/led");
        await PublishAsync("bob", "/acme/gpio/led/set", "true");
        Assert.True(await bob.WaitForLineAsync(State("/acme/gpio/led", s => s.GetProperty("value").GetInt32() == 1)), string.Join('\n', bob.Lines) + _server.Output);
    }

    [Fact]
    public async Task Scripts_use_their_own_accounts_pins_only()
    {
        await StartSimulatedAsync();
        using OutputCollector acme = await SubscribeAsync("acme", "/acme/#");
        await PublishAsync("acme", "/acme/run/blink", """{"v":1}""");
        Assert.True(await acme.WaitForLineAsync(l => l == "/acme/run/blink/result 1"), string.Join('\n', acme.Lines) + _server!.Output);
        Assert.True(await acme.WaitForLineAsync(State("/acme/gpio/led", s => s.GetProperty("value").GetInt32() == 1)), string.Join('\n', acme.Lines));

        using OutputCollector bob = await SubscribeAsync("bob", "/bob/run/peek/error");
        await PublishAsync("bob", "/bob/run/peek", "");
        Assert.True(await bob.WaitForLineAsync(l => l.Contains("gpio.read: account bob has no pin 'led'", StringComparison.Ordinal)), string.Join('\n', bob.Lines) + _server.Output);
    }

    [Fact]
    public async Task An_edge_runs_the_pins_onEdge_script_and_a_burst_is_coalesced_and_counted()
    {
        await StartSimulatedAsync();
        using OutputCollector acme = await SubscribeAsync("acme", "/acme/pressed");
        await DriveAsync("drive 0 27 0"); // the button pressed: pulled-up line to ground, active low
        Assert.True(await acme.WaitForLineAsync(l => l.StartsWith("/acme/pressed {\"name\":\"button\",\"value\":1,\"edge\":\"rising\",\"timestamp\":", StringComparison.Ordinal)),
            string.Join('\n', acme.Lines) + _server!.Output);

        using OutputCollector sys = await SubscribeAsync("acme", "$SYS/broker/gpio/edges/coalesced");
        // 200 edges at once, ending pressed: at most 5 a second get through, the rest are counted.
        await DriveAsync([.. Enumerable.Range(0, 200).Select(i => $"drive 0 27 {(i % 2 == 0 ? 1 : 0)}")]);
        Assert.True(await sys.WaitForLineAsync(l => l.StartsWith("$SYS/broker/gpio/edges/coalesced ", StringComparison.Ordinal) &&
            long.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) >= 190, TimeSpan.FromSeconds(15)), string.Join('\n', sys.Lines) + _server.Output);
        Assert.True(await _server.WaitForOutputAsync("edges beyond 5 per second coalesced"), _server.Output);
        // Every onEdge run is one reported edge: the first press, at most 5 of the burst in a second,
        // and the burst's final level (pressed) if the last one let through was not.
        Assert.True(await acme.WaitUntilAsync(() => acme.Lines.Count >= 5 && acme.Lines[^1].Contains("\"value\":1", StringComparison.Ordinal), TimeSpan.FromSeconds(15)),
            string.Join('\n', acme.Lines));
        Assert.InRange(acme.Lines.Count, 5, 7);
    }

    [Fact]
    public async Task An_idle_gateway_with_pins_wakes_a_few_times_a_second_and_its_check_still_finds_an_unplugged_chip()
    {
        // Measured 2026-12-06 with the two pins of this class: 12.4 wake-ups a second while the pins'
        // check and the $SYS counters had a .NET timer each (about four threads woken per tick);
        // ~1 on the process's shared tick.
        await StartSimulatedAsync();
        await Task.Delay(TimeSpan.FromSeconds(2)); // start-up's own work (opening the pins, the first polls) ends
        double perSecond = await ProcStatus.WakeUpsPerSecondAsync(_server!.ProcessId, TimeSpan.FromSeconds(10));
        Assert.True(perSecond <= IdleWakeUpTests.MaxWakeUpsPerSecond,
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"idle iotpe with pins woke {perSecond:F1} times a second (at most {IdleWakeUpTests.MaxWakeUpsPerSecond} expected)"));

        // Nobody reads or drives the button: only the periodic check, on the shared tick, finds its chip gone.
        using OutputCollector states = await SubscribeAsync("acme", "/acme/gpio/button");
        Assert.True(await states.WaitForLineAsync(State("/acme/gpio/button", s => s.GetProperty("value").ValueKind == JsonValueKind.Number)), string.Join('\n', states.Lines));
        await DriveAsync("unplug 0");
        Assert.True(await states.WaitForLineAsync(State("/acme/gpio/button", s => s.TryGetProperty("error", out JsonElement error) &&
            error.GetString()!.Contains("no longer answers", StringComparison.Ordinal)), TimeSpan.FromSeconds(10)), string.Join('\n', states.Lines) + _server.Output);
    }

    [Fact]
    public async Task Stopping_drives_outputs_to_their_safe_value()
    {
        await StartSimulatedAsync();
        using OutputCollector states = await SubscribeAsync("acme", "/acme/gpio/led");
        await PublishAsync("acme", "/acme/gpio/led/set", "1");
        Assert.True(await states.WaitForLineAsync(State("/acme/gpio/led", s => s.GetProperty("value").GetInt32() == 1)), string.Join('\n', states.Lines));
        Assert.Equal(0, await _server!.StopAsync());
        Assert.True(await states.WaitForLineAsync(State("/acme/gpio/led", s => s.GetProperty("value").GetInt32() == 0 && s.GetProperty("edge").GetString() == "falling")),
            string.Join('\n', states.Lines) + _server.Output);
    }

    [Fact]
    public async Task Without_libgpiod_or_a_chip_the_pins_report_why_and_the_broker_and_engine_keep_serving()
    {
        // The real driver: this machine has no GPIO chip (and, unless build/setup.sh added it, no libgpiod).
        _server = await IotpeServer.StartAsync(["--config", Config], Data, allowAnonymous: false);
        Assert.True(await _server.WaitForOutputAsync("pins in the error state: acme/led, acme/button"), _server.Output);
        Assert.True(_server.Output.Contains("apt install libgpiod2", StringComparison.Ordinal) || _server.Output.Contains("no GPIO chip 0", StringComparison.Ordinal), _server.Output);
        using OutputCollector acme = await SubscribeAsync("acme", "/acme/#");
        Assert.True(await acme.WaitForLineAsync(State("/acme/gpio/led", s => s.GetProperty("value").ValueKind == JsonValueKind.Null && s.TryGetProperty("error", out _))),
            string.Join('\n', acme.Lines));
        await PublishAsync("acme", "/acme/run/blink", """{"v":1}""");
        Assert.True(await acme.WaitForLineAsync(l => l.StartsWith("/acme/run/blink/error ", StringComparison.Ordinal) && l.Contains("error state", StringComparison.Ordinal)),
            string.Join('\n', acme.Lines));
        await PublishAsync("acme", "/acme/hello", "still serving");
        Assert.True(await acme.WaitForLineAsync(l => l == "/acme/hello still serving"), string.Join('\n', acme.Lines));
    }

    [Theory]
    [InlineData("""{ "name": "led", "account": "acme", "chip": 0, "line": 17, "direction": "output" }, { "name": "fan", "account": "acme", "chip": 0, "line": 17, "direction": "output" }""",
        "iotpe: gpio pin 'fan': chip 0 line 17 is also pin 'led'; a line can be one pin only")]
    [InlineData("""{ "name": "led", "account": "carol", "chip": 0, "line": 17, "direction": "output" }""", "iotpe: gpio pin 'led': unknown account 'carol'")]
    [InlineData("""{ "name": "led", "account": "acme", "chip": 0, "line": 17, "direction": "output", "bias": "pullUp" }""", "iotpe: gpio pin 'led': an output has no bias")]
    public async Task A_configuration_that_cannot_work_stops_the_start_naming_the_pin(string pins, string message)
    {
        await WriteConfigAsync(pins);
        ProcessRun run = await ProcessRun.RunAsync(IotpeBinary.Path, ["run", "--config", Config, "--data", Data, "--listen", "127.0.0.1:0"], TimeSpan.FromSeconds(30));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.StandardError, StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

// Publish throughput of IoTPE.Client and of MQTTnet's client, to one Mosquitto on loopback, in one run.
//
//   dotnet run -c Release --project tests/IoTPE.Client.Benchmarks [-- --messages N --reps R --only TEXT]
//
// Every round publishes N messages of 64 bytes with a fixed number of publishes in flight (the application starts the
// next one when one is acknowledged: PUBACK for QoS 1, PUBCOMP for QoS 2) and reports messages per second from the
// first publish to the last acknowledgement. IoTPE.Client commits every QoS 1/2 message to its SQLite state file
// (synchronous=FULL, one fsync per group commit) before sending it; MQTTnet keeps nothing. Both use MQTT 5.0 with
// the broker's Receive Maximum at 100 (Mosquitto max_inflight_messages 100) and, for IoTPE.Client, MaxInflight 100.
// The configurations run in turn, R times each, and the median is reported.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using IoTPE.Client;
using IoTPE.Mqtt;
using MQTTnet;
using MQTTnet.Protocol;
using MqttClient = IoTPE.Client.MqttClient;
using MqttClientOptions = IoTPE.Client.MqttClientOptions;

int messages = 20_000;
int reps = 3;
string? only = null;
for (int i = 0; i < args.Length - 1; i += 2)
{
    switch (args[i])
    {
        case "--messages": messages = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--reps": reps = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--only": only = args[i + 1]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

byte[] payload = new byte[64];
Random.Shared.NextBytes(payload);
string work = Directory.CreateTempSubdirectory("iotpe-client-bench-").FullName;
int port = FreePort();
File.WriteAllText(Path.Combine(work, "mosquitto.conf"), string.Join('\n',
    $"listener {port} 127.0.0.1",
    "allow_anonymous true",
    "persistence false",
    "max_inflight_messages 100",
    "max_queued_messages 100000",
    "log_type error",
    ""));
using Process mosquitto = Process.Start(new ProcessStartInfo("mosquitto", ["-c", Path.Combine(work, "mosquitto.conf")]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
try
{
    await WaitForPortAsync(port);

    (string Name, Func<int, Task<double>> Run)[] configurations =
    [
        ("IoTPE.Client QoS 1, 100 in flight", n => IotpeClientAsync(QualityOfService.AtLeastOnce, 100, n, false)),
        ("MQTTnet QoS 1, 100 in flight", n => MqttNetAsync(MqttQualityOfServiceLevel.AtLeastOnce, 100, n)),
        ("IoTPE.Client QoS 2, 100 in flight", n => IotpeClientAsync(QualityOfService.ExactlyOnce, 100, n, false)),
        ("MQTTnet QoS 2, 100 in flight", n => MqttNetAsync(MqttQualityOfServiceLevel.ExactlyOnce, 100, n)),
        ("IoTPE.Client QoS 2 with message ids, 100 in flight", n => IotpeClientAsync(QualityOfService.ExactlyOnce, 100, n, true)),
        ("IoTPE.Client QoS 1, 1 in flight", n => IotpeClientAsync(QualityOfService.AtLeastOnce, 1, n / 10, false)),
        ("MQTTnet QoS 1, 1 in flight", n => MqttNetAsync(MqttQualityOfServiceLevel.AtLeastOnce, 1, n / 10)),
        ("IoTPE.Client QoS 2, 1 in flight", n => IotpeClientAsync(QualityOfService.ExactlyOnce, 1, n / 10, false)),
        ("MQTTnet QoS 2, 1 in flight", n => MqttNetAsync(MqttQualityOfServiceLevel.ExactlyOnce, 1, n / 10)),
    ];

    configurations = configurations.Where(c => only is null || c.Name.Contains(only, StringComparison.Ordinal)).ToArray();
    var results = configurations.ToDictionary(c => c.Name, _ => new List<double>());
    foreach ((string name, Func<int, Task<double>> run) in configurations)
    {
        await run(Math.Max(100, messages / 20)); // Warm-up: JIT, SQLite, the broker's first sessions.
    }

    for (int rep = 0; rep < reps; rep++)
    {
        foreach ((string name, Func<int, Task<double>> run) in configurations)
        {
            double rate = await run(messages);
            results[name].Add(rate);
            Console.Error.WriteLine($"{name}: {rate:N0} msg/s");
        }
    }

    Console.WriteLine($"| configuration | {string.Join(" | ", Enumerable.Range(1, reps).Select(r => $"run {r}"))} | median |");
    Console.WriteLine($"|---|{string.Concat(Enumerable.Repeat("---|", reps))}---|");
    foreach ((string name, List<double> rates) in results)
    {
        double median = rates.Order().ElementAt(rates.Count / 2);
        Console.WriteLine($"| {name} | {string.Join(" | ", rates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))} | {median.ToString("N0", CultureInfo.InvariantCulture)} |");
    }

    return 0;
}
finally
{
    mosquitto.Kill();
    await mosquitto.WaitForExitAsync();
    Directory.Delete(work, recursive: true);
}

async Task<double> IotpeClientAsync(QualityOfService qos, int inFlight, int count, bool withIds)
{
    string id = $"bench-{Guid.NewGuid():N}";
    await using var client = new MqttClient(new MqttClientOptions
    {
        Host = "127.0.0.1",
        Port = port,
        ClientId = id,
        StatePath = Path.Combine(work, id + ".db"),
        MaxInflight = 100,
        SessionExpiry = TimeSpan.Zero, // Nothing to keep between rounds.
    });
    await client.StartAsync();
    await client.WaitUntilConnectedAsync();
    byte[] data = payload;
    return await MeasureAsync(inFlight, count, n => client.Publish("bench/client", data, qos, messageId: withIds ? n.ToString(CultureInfo.InvariantCulture) : null).Delivered);
}

async Task<double> MqttNetAsync(MqttQualityOfServiceLevel qos, int inFlight, int count)
{
    using IMqttClient client = new MqttClientFactory().CreateMqttClient();
    await client.ConnectAsync(new MqttClientOptionsBuilder()
        .WithTcpServer("127.0.0.1", port)
        .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
        .WithClientId($"bench-mqttnet-{Guid.NewGuid():N}")
        .WithCleanStart(true)
        .Build());
    MqttApplicationMessage message = new MqttApplicationMessageBuilder().WithTopic("bench/mqttnet").WithPayload(payload).WithQualityOfServiceLevel(qos).Build();
    double rate = await MeasureAsync(inFlight, count, _ => client.PublishAsync(message));
    await client.DisconnectAsync();
    return rate;
}

// Publishes count messages keeping inFlight of them unacknowledged; messages per second.
static async Task<double> MeasureAsync(int inFlight, int count, Func<int, Task> publish)
{
    var slots = new SemaphoreSlim(inFlight);
    var pending = new List<Task>(count);
    var stopwatch = Stopwatch.StartNew();
    for (int n = 0; n < count; n++)
    {
        await slots.WaitAsync();
        pending.Add(publish(n).ContinueWith(t =>
        {
            slots.Release();
            t.GetAwaiter().GetResult();
        }, TaskScheduler.Default));
    }

    await Task.WhenAll(pending);
    return count / stopwatch.Elapsed.TotalSeconds;
}

static int FreePort()
{
    var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    int free = ((IPEndPoint)listener.LocalEndpoint).Port;
    listener.Stop();
    return free;
}

static async Task WaitForPortAsync(int port)
{
    for (int attempt = 0; attempt < 200; attempt++)
    {
        try
        {
            using var probe = new TcpClient();
            await probe.ConnectAsync(IPAddress.Loopback, port);
            return;
        }
        catch (SocketException)
        {
            await Task.Delay(25);
        }
    }

    throw new TimeoutException($"mosquitto did not listen on {port}");
}

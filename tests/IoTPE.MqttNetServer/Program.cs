// MQTTnet.Server 5.2 as a console broker on 127.0.0.1, for build/bench.sh (the broker a .NET user would host instead of
// Mosquitto or iotpe).
//
//   IoTPE.MqttNetServer [--port N]      (default 1883; stops on SIGTERM or SIGINT)
//
// Configured like the reference Mosquitto (mosquitto-base.conf): anonymous, nothing written to disk, sessions of clients
// that ask for one kept in memory (Mosquitto keeps them with persistence off too, and the durable bench runs rely on
// it), and a per-client queue far above the largest run so that a slow subscriber never causes drops. MQTTnet.Server
// has no outgoing in-flight window to raise (Mosquitto's max_inflight_messages): it sends what is queued.
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using MQTTnet.Server;

int port = 1883;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port" when i + 1 < args.Length:
            port = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        default:
            Console.Error.WriteLine($"IoTPE.MqttNetServer: unknown argument {args[i]} (usage: --port N)");
            return 2;
    }
}

MqttServerOptions options = new MqttServerOptionsBuilder()
    .WithDefaultEndpoint()
    .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
    .WithDefaultEndpointBoundIPV6Address(IPAddress.None)
    .WithDefaultEndpointPort(port)
    // mqttbench -C 1000 opens a thousand connections at once; the default backlog of 100 would refuse some.
    .WithConnectionBacklog(1024)
    .WithPersistentSessions()
    // Mosquitto's max_queued_messages 10000000: above the largest run (800k messages), so nothing is dropped.
    .WithMaxPendingMessagesPerClient(10_000_000)
    .Build();

using MqttServer server = new MqttServerFactory().CreateMqttServer(options);
await server.StartAsync();
Console.WriteLine($"IoTPE.MqttNetServer: MQTTnet.Server listening on 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.TrySetResult(); });
using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.TrySetResult(); });
await stop.Task;
await server.StopAsync();
return 0;

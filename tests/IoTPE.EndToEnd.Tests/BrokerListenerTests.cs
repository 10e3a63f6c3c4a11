using System.Text.Json.Nodes;
using IoTPE.EndToEnd.Tests.Infrastructure;

namespace IoTPE.EndToEnd.Tests;

/// <summary>TLS (with and without client certificates) and MQTT over WebSocket listeners, each on its own port.</summary>
public sealed class BrokerListenerTests : IAsyncLifetime
{
    private readonly string _pki = Directory.CreateTempSubdirectory("iotpe-pki-").FullName;
    private IotpeServer _server = null!;
    private string _config = null!;

    public async Task InitializeAsync()
    {
        await OpenSsl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=IoTPE test CA",
            "-keyout", P("ca.key"), "-out", P("ca.crt"));
        await IssueAsync("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost");
        await IssueAsync("client", "/CN=gateway-7", "extendedKeyUsage=clientAuth");
        _config = P("iotpe.json");
        await File.WriteAllTextAsync(_config, $$"""
            {
              "broker": {
                "listeners": [
                  { "name": "mqtts", "address": "127.0.0.1", "port": 0, "tls": { "certificateFile": "{{P("server.crt")}}", "keyFile": "{{P("server.key")}}" } },
                  { "name": "mqtts-mutual", "address": "127.0.0.1", "port": 0, "tls": { "certificateFile": "{{P("server.crt")}}", "keyFile": "{{P("server.key")}}", "clientCaFile": "{{P("ca.crt")}}" } },
                  { "name": "ws", "address": "127.0.0.1", "port": 0, "protocol": "webSocket", "webSocketPath": "/mqtt" },
                  { "name": "wss", "address": "127.0.0.1", "port": 0, "protocol": "webSocket", "tls": { "certificateFile": "{{P("server.crt")}}", "keyFile": "{{P("server.key")}}" } }
                ]
              }
            }
            """);
        _server = await IotpeServer.StartAsync(["--config", _config]);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_pki, recursive: true);
    }

    private string P(string name) => Path.Combine(_pki, name);

    private static async Task OpenSsl(params string[] args)
    {
        ProcessRun run = await ProcessRun.RunAsync("openssl", args);
        Assert.True(run.ExitCode == 0, run.StandardError);
    }

    private async Task IssueAsync(string name, string subject, string extension)
    {
        await OpenSsl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", P(name + ".key"), "-out", P(name + ".csr"));
        await File.WriteAllTextAsync(P(name + ".ext"), extension + "\n");
        await OpenSsl("x509", "-req", "-in", P(name + ".csr"), "-CA", P("ca.crt"), "-CAkey", P("ca.key"), "-CAcreateserial",
            "-days", "2", "-extfile", P(name + ".ext"), "-out", P(name + ".crt"));
    }

    [Fact]
    public async Task Tls_listener_serves_mosquitto_clients_that_verify_the_server()
    {
        string port = _server.PortOf("mqtts").ToString(System.Globalization.CultureInfo.InvariantCulture);
        using OutputCollector sub = await MosquittoClients.StartSubscriberAsync(_server.PortOf("mqtts"), ["--cafile", P("ca.crt"), "-t", "secure/#", "-v", "-C", "1"]);
        ProcessRun pub = await ProcessRun.RunAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", port, "--cafile", P("ca.crt"), "-q", "1", "-t", "secure/t", "-m", "encrypted"]);
        Assert.True(pub.ExitCode == 0, pub.StandardError);
        Assert.Equal(["secure/t encrypted"], await sub.WaitForLinesAsync(1));
    }

    [Fact]
    public async Task Mutual_tls_listener_requires_a_client_certificate_from_its_ca()
    {
        string port = _server.PortOf("mqtts-mutual").ToString(System.Globalization.CultureInfo.InvariantCulture);
        ProcessRun without = await ProcessRun.RunAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", port, "--cafile", P("ca.crt"), "-q", "1", "-t", "m/t", "-m", "x"]);
        Assert.NotEqual(0, without.ExitCode);
        ProcessRun with = await ProcessRun.RunAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", port, "--cafile", P("ca.crt"),
            "--cert", P("client.crt"), "--key", P("client.key"), "-q", "1", "-t", "m/t", "-m", "x"]);
        Assert.True(with.ExitCode == 0, with.StandardError);
        // The plain-TCP listener is unaffected.
        Assert.Equal(0, (await MosquittoClients.PublishAsync(_server.Port, "-q", "1", "-t", "m/t", "-m", "plain")).ExitCode);
    }

    [Theory]
    [InlineData("ws", "ws", 4)]
    [InlineData("ws", "ws", 5)]
    [InlineData("wss", "wss", 5)]
    public async Task WebSocket_listener_serves_MqttJs(string listener, string scheme, int protocolVersion)
    {
        string url = $"{scheme}://127.0.0.1:{_server.PortOf(listener)}/mqtt";
        JsonObject Session(string id, JsonArray subscribe, JsonArray publish, int stayMs) => new()
        {
            ["url"] = url, ["clientId"] = id, ["protocolVersion"] = protocolVersion, ["stayMs"] = stayMs, ["exitAfterMessages"] = 1,
            ["subscribe"] = subscribe, ["publish"] = publish,
        };
        // The subscriber leaves after its one message; its stay only bounds a failure.
        var sub = Session($"{listener}-sub-{protocolVersion}", new JsonArray(new JsonObject { ["topic"] = "web/#", ["qos"] = 1 }), [], stayMs: 20_000);
        using OutputCollector subscriber = MqttJs.StartScript("mqtt5-session.js", [sub.ToJsonString()], scheme == "wss" ? new Dictionary<string, string> { ["NODE_EXTRA_CA_CERTS"] = P("ca.crt") } : null);
        Assert.NotEmpty((await MqttSessionPlan.WaitForAsync(subscriber, "suback")).OfKind("suback"));
        using OutputCollector publisher = MqttJs.StartScript("mqtt5-session.js", [Session($"{listener}-pub-{protocolVersion}", [],
            new JsonArray(new JsonObject { ["topic"] = "web/t", ["payload"] = "over websocket", ["qos"] = 1 }), stayMs: 3000).ToJsonString()],
            scheme == "wss" ? new Dictionary<string, string> { ["NODE_EXTRA_CA_CERTS"] = P("ca.crt") } : null);
        IReadOnlyList<JsonObject> events = await MqttSessionPlan.WaitForAsync(subscriber, "message");
        Assert.Equal(["over websocket"], events.OfKind("message").Select(m => (string)m["payload"]!));
    }

    [Fact]
    public async Task WebSocket_listener_refuses_other_paths()
    {
        using var http = new HttpClient();
        HttpResponseMessage response = await http.GetAsync(new Uri($"http://127.0.0.1:{_server.PortOf("ws")}/other"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
    }
}

namespace IoTPE.TestSupport;

/// <summary>MQTT.js, the client the seed documents: its <c>mqtt</c> command and small Node scripts of ours.</summary>
public static class MqttJs
{
    private static readonly Lazy<string> GlobalModules = new(() =>
    {
        ProcessRun run = ProcessRun.RunAsync("npm", ["root", "-g"]).GetAwaiter().GetResult();
        return run.StandardOutput.Trim();
    });

    /// <summary>Runs <c>mqtt ARGS</c> (e.g. <c>pub</c>) to completion.</summary>
    public static Task<ProcessRun> RunAsync(params string[] args) => ProcessRun.RunAsync("mqtt", args, TimeSpan.FromSeconds(30));

    /// <summary>Starts <c>mqtt sub ...</c>, collecting its output.</summary>
    public static OutputCollector StartSubscriber(params string[] args) => OutputCollector.Start("mqtt", ["sub", .. args]);

    /// <summary>
    /// Starts <c>mqtt sub ...</c> and returns once the broker has answered its SUBSCRIBE (SUBACK,
    /// granted or refused), so a publish made afterwards cannot race the subscription. <c>mqtt sub</c>
    /// prints nothing when subscribed; MQTT.js's own debug log (<c>DEBUG=mqttjs:client</c>, on standard
    /// error) does, and goes to <see cref="OutputCollector.DiagnosticLines"/>. A refused subscription
    /// still ends the program with "Subscribe error" in <see cref="OutputCollector.Error"/>.
    /// </summary>
    public static async Task<OutputCollector> StartSubscriberAsync(params string[] args)
    {
        OutputCollector subscriber = OutputCollector.Start("mqtt", ["sub", .. args], new Dictionary<string, string> { ["DEBUG"] = "mqttjs:client" },
            isDiagnostic: IsDebugLine);
        if (!await subscriber.WaitForDiagnosticLineAsync(l => l.Contains(SubackLine, StringComparison.Ordinal), TimeSpan.FromSeconds(15)))
        {
            string output = string.Join('\n', subscriber.DiagnosticLines) + subscriber.Error;
            subscriber.Dispose();
            throw new TimeoutException("mqtt sub got no SUBACK: " + output);
        }
        return subscriber;
    }

    // MQTT.js 5's client logs this when a SUBACK arrives (lib/client.ts, _handleAck).
    private const string SubackLine = "_handleAck :: packet type suback";

    // The debug module prefixes each entry with a timestamp and "mqttjs:client"; a packet it dumps
    // continues on indented lines and ends with "}".
    private static bool IsDebugLine(string line) =>
        line.Contains(" mqttjs:", StringComparison.Ordinal) || line.StartsWith(' ') || line == "}";

    /// <summary>Starts one of the Node scripts in this project's <c>node/</c> folder.</summary>
    public static OutputCollector StartScript(string script, params string[] args) => StartScript(script, args, null);

    /// <summary>Starts one of the Node scripts with extra environment variables.</summary>
    public static OutputCollector StartScript(string script, string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        var variables = new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["NODE_PATH"] = GlobalModules.Value };
        return OutputCollector.Start("node", [Path.Combine(AppContext.BaseDirectory, "node", script), .. args], variables);
    }
}

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

    /// <summary>Starts one of the Node scripts in this project's <c>node/</c> folder.</summary>
    public static OutputCollector StartScript(string script, params string[] args) => StartScript(script, args, null);

    /// <summary>Starts one of the Node scripts with extra environment variables.</summary>
    public static OutputCollector StartScript(string script, string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        var variables = new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["NODE_PATH"] = GlobalModules.Value };
        return OutputCollector.Start("node", [Path.Combine(AppContext.BaseDirectory, "node", script), .. args], variables);
    }
}

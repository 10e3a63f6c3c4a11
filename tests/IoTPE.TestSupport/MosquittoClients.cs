using System.Globalization;

namespace IoTPE.TestSupport;

/// <summary>Debian's mosquitto_pub and mosquitto_sub, run against a broker on 127.0.0.1.</summary>
public static class MosquittoClients
{
    /// <summary>Runs mosquitto_pub to completion.</summary>
    public static Task<ProcessRun> PublishAsync(int port, params string[] args) =>
        ProcessRun.RunAsync("mosquitto_pub", ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. args], TimeSpan.FromSeconds(20));

    /// <summary>Runs mosquitto_sub to completion (use -C/-W/-E so that it ends).</summary>
    public static Task<ProcessRun> RunOnceAsync(int port, params string[] args) =>
        ProcessRun.RunAsync("mosquitto_sub", ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. args], TimeSpan.FromSeconds(30));

    /// <summary>Starts mosquitto_sub; its output lines are collected as they come.</summary>
    public static OutputCollector StartSubscriber(int port, params string[] args) =>
        OutputCollector.Start("mosquitto_sub", ["-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. args]);
}

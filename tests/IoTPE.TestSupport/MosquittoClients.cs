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

    /// <summary>
    /// Starts mosquitto_sub and returns once the broker has answered its SUBSCRIBE (SUBACK), so a
    /// publish made afterwards cannot race the subscription. The SUBACK's return codes are in
    /// <see cref="OutputCollector.DiagnosticLines"/> (<c>Subscribed (mid: 1): 0</c>; 128 = refused).
    /// </summary>
    public static async Task<OutputCollector> StartSubscriberAsync(int port, params string[] args)
    {
        // mosquitto_sub flushes after each message but not after its debug lines: stdbuf makes its
        // standard output line-buffered, so the SUBACK line arrives when it is printed.
        OutputCollector subscriber = OutputCollector.Start("stdbuf", ["-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. args],
            isDiagnostic: IsDebugLine);
        if (!await subscriber.WaitForDiagnosticLineAsync(l => l.StartsWith(SubscribedLine, StringComparison.Ordinal), TimeSpan.FromSeconds(15)))
        {
            string output = string.Join('\n', subscriber.DiagnosticLines) + subscriber.Error;
            subscriber.Dispose();
            throw new TimeoutException("mosquitto_sub got no SUBACK: " + output);
        }
        return subscriber;
    }

    private const string SubscribedLine = "Subscribed (mid:";

    // mosquitto_sub -d writes "Client <id> sending/received <packet>" and "Subscribed (mid: N): codes"
    // between the messages it prints.
    private static bool IsDebugLine(string line) =>
        line.StartsWith("Client ", StringComparison.Ordinal) || line.StartsWith(SubscribedLine, StringComparison.Ordinal);
}

using System.Globalization;

namespace IoTPE.EndToEnd.Tests.Infrastructure;

/// <summary>
/// mosquitto_sub started in debug mode with line-buffered output (stdbuf), returned once its SUBACK
/// arrived, so a test publishes only when the subscription exists instead of sleeping. Its message
/// lines (<c>-v</c>: topic and payload) come mixed with debug lines starting with <c>Client </c> or <c>Subscribed </c>.
/// </summary>
internal static class SubscribedMosquittoSub
{
    public static async Task<OutputCollector> StartAsync(int port, params string[] arguments)
    {
        OutputCollector sub = OutputCollector.Start("stdbuf",
            ["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), .. arguments, "-v", "-q", "1", "-d"]);
        if (!await sub.WaitForLineAsync(l => l.Contains("received SUBACK", StringComparison.Ordinal), TimeSpan.FromSeconds(10)))
        {
            string output = string.Join('\n', sub.Lines) + sub.Error;
            sub.Dispose();
            throw new TimeoutException("mosquitto_sub saw no SUBACK: " + output);
        }
        return sub;
    }

    /// <summary>Whether a line is a received message rather than a debug line.</summary>
    public static bool IsMessage(string line) =>
        !line.StartsWith("Client ", StringComparison.Ordinal) && !line.StartsWith("Subscribed ", StringComparison.Ordinal);
}

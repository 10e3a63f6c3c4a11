using System.Text.Json.Nodes;

namespace IoTPE.TestSupport;

/// <summary>
/// Runs one MQTT.js session from a JSON plan (see node/mqtt5-session.js) and returns its events,
/// so tests can use MQTT 5.0 features that the command-line clients do not expose.
/// </summary>
public static class MqttSessionPlan
{
    /// <summary>Starts the session in the background (for subscribers that must be up before a publisher).</summary>
    public static OutputCollector Start(JsonObject plan) => MqttJs.StartScript("mqtt5-session.js", plan.ToJsonString());

    /// <summary>Runs the session to its end and returns its events.</summary>
    public static async Task<IReadOnlyList<JsonObject>> RunAsync(JsonObject plan)
    {
        using OutputCollector session = Start(plan);
        await session.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return Events(session);
    }

    /// <summary>The events a session printed so far.</summary>
    public static IReadOnlyList<JsonObject> Events(OutputCollector session) =>
        [.. session.Lines.Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!.AsObject())];

    /// <summary>The events of one kind.</summary>
    public static IEnumerable<JsonObject> OfKind(this IEnumerable<JsonObject> events, string kind) =>
        events.Where(e => (string?)e["event"] == kind);

    /// <summary>Waits until the session printed <paramref name="count"/> events of <paramref name="kind"/>.</summary>
    /// <remarks>
    /// A session that gets what it waited for may exit at once (<c>exitAfterMessages</c>): its last
    /// lines are read to the end before the events are returned, so a fast exit is not a lost event.
    /// </remarks>
    public static async Task<IReadOnlyList<JsonObject>> WaitForAsync(OutputCollector session, string kind, int count = 1, TimeSpan? timeout = null)
    {
        await session.WaitUntilAsync(() => Events(session).OfKind(kind).Count() >= count, timeout ?? TimeSpan.FromSeconds(15));
        return Events(session);
    }
}

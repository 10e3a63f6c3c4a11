using System.Text.Json;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// A command call as IoTPE's client sends it (docs/commands.md): <c>{"messageId": "...", "payload": ...}</c>
/// on the command topic, answered on <c>&lt;topic&gt;/resolve</c> or <c>&lt;topic&gt;/reject</c>, and cancelled
/// with <c>{"messageId": "..."}</c> on <c>&lt;topic&gt;/cancel</c>.
/// </summary>
/// <param name="MessageId">The call's identifier, chosen by the caller.</param>
/// <param name="Payload">The call's payload (a detached JSON value; null when absent).</param>
internal sealed record CommandCall(string MessageId, JsonElement Payload)
{
    private static readonly JsonElement Null = JsonDocument.Parse("null").RootElement.Clone();

    /// <summary>Reads a call or a cancellation (which has no payload); false with the problem otherwise.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> json, out CommandCall? call, out string? problem)
    {
        call = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("messageId", out JsonElement id) ||
                id.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(id.GetString()))
            {
                problem = "a command call is {\"messageId\": \"...\", \"payload\": ...}";
                return false;
            }
            JsonElement payload = root.TryGetProperty("payload", out JsonElement p) ? p.Clone() : Null;
            call = new CommandCall(id.GetString()!, payload);
            problem = null;
            return true;
        }
        catch (JsonException e)
        {
            problem = "the call is not JSON: " + e.Message;
            return false;
        }
    }
}

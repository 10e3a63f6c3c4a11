using System.Text.Json;
using IoTPE.Commands;

namespace IoTPE.Engine.Scripts;

/// <summary>
/// A command call as IoTPE's client sends it (docs/commands.md, read with the shared <see cref="CommandWireFormat"/>):
/// <c>{"messageId": "...", "payload": ...}</c> on the command topic, answered on <c>&lt;topic&gt;/resolve</c> or
/// <c>&lt;topic&gt;/reject</c>, and cancelled with <c>{"messageId": "..."}</c> on <c>&lt;topic&gt;/cancel</c>.
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
        if (!CommandWireFormat.TryReadCall(json, out string messageId, out JsonElement payload, out string reason))
        {
            problem = reason;
            return false;
        }
        call = new CommandCall(messageId, payload.ValueKind == JsonValueKind.Undefined ? Null : payload);
        problem = null;
        return true;
    }
}

using System.Text.Json;

namespace IoTPE.Client;

/// <summary>
/// Why a command call was rejected: the <c>error</c> object of a reject message (see docs/commands.md).
/// </summary>
public sealed class CommandError
{
    /// <summary>The <see cref="Code"/> of a call rejected because it was cancelled.</summary>
    public const string CancelledCode = IoTPE.Commands.CommandWireFormat.CancelledCode;

    /// <summary>Creates an error.</summary>
    /// <param name="message">A human-readable description.</param>
    /// <param name="code">A machine-readable code, if any (e.g. <see cref="CancelledCode"/>).</param>
    /// <param name="details">Any JSON value with more information, if any.</param>
    public CommandError(string message, string? code = null, JsonElement? details = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        Message = message;
        Code = code;
        Details = details;
    }

    /// <summary>A human-readable description (<c>error.message</c>).</summary>
    public string Message { get; }

    /// <summary>A machine-readable code (<c>error.code</c>), or null.</summary>
    public string? Code { get; }

    /// <summary>More information (<c>error.details</c>), or null.</summary>
    public JsonElement? Details { get; }

    /// <summary>Whether the call was rejected because it was cancelled.</summary>
    public bool IsCancellation => Code == CancelledCode;
}

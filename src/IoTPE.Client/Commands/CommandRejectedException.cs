using System.Text.Json;

namespace IoTPE.Client;

/// <summary>
/// Thrown by a command handler to reject the call with a code and details (any other exception rejects it with its
/// message only). The caller receives them as <see cref="CommandResult.Error"/>.
/// </summary>
public sealed class CommandRejectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CommandRejectedException()
        : this("The command was rejected.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The reject's <c>error.message</c>.</param>
    public CommandRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The reject's <c>error.message</c>.</param>
    /// <param name="innerException">The cause (not sent).</param>
    public CommandRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The reject's <c>error.message</c>.</param>
    /// <param name="code">The reject's <c>error.code</c>.</param>
    /// <param name="details">The reject's <c>error.details</c>.</param>
    public CommandRejectedException(string message, string? code, JsonElement? details = null)
        : base(message)
    {
        Code = code;
        Details = details;
    }

    /// <summary>The reject's <c>error.code</c>, or null.</summary>
    public string? Code { get; }

    /// <summary>The reject's <c>error.details</c>, or null.</summary>
    public JsonElement? Details { get; }
}

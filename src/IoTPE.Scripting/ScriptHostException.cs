namespace IoTPE.Scripting;

/// <summary>
/// Thrown by an <see cref="IScriptHost"/> to fail a host call with a message the script sees, as
/// a JavaScript <c>Error</c> (e.g. "not authorized to publish to /other/topic", "no such table: x").
/// </summary>
public sealed class ScriptHostException : Exception
{
    /// <summary>Creates the exception with the message the script will see.</summary>
    public ScriptHostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the message the script will see and its cause.</summary>
    public ScriptHostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public ScriptHostException()
        : base("host call failed")
    {
    }
}

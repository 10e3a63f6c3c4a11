namespace IoTPE.Engine.Scripts;

/// <summary>A script's SQL failed; the message says why in words the script's author understands.</summary>
public sealed class AccountDatabaseException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AccountDatabaseException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public AccountDatabaseException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public AccountDatabaseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

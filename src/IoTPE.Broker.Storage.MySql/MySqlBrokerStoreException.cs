namespace IoTPE.Broker.Storage.MySql;

/// <summary>The MySQL broker store cannot be used as configured (no database selected, a newer schema, another store running on the database).</summary>
public sealed class MySqlBrokerStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MySqlBrokerStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public MySqlBrokerStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public MySqlBrokerStoreException()
    {
    }
}

namespace IoTPE.Sqlite;

/// <summary>SQLite refused to open, set up or read the store's database.</summary>
public sealed class SqliteStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SqliteStoreException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public SqliteStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public SqliteStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for an SQLite result code.</summary>
    /// <param name="message">What failed, with SQLite's error text.</param>
    /// <param name="resultCode">SQLite's extended result code.</param>
    public SqliteStoreException(string message, int resultCode)
        : base(message)
    {
        ResultCode = resultCode;
    }

    /// <summary>SQLite's extended result code (https://www.sqlite.org/rescode.html), or 0 when none applies.</summary>
    public int ResultCode { get; }
}

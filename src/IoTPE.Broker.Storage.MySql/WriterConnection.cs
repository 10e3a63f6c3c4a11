using System.Globalization;
using MySqlConnector;

namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// The writer's connection: opened with the session settings the store relies on, holding the
/// store's instance lock, with its prepared statements.
/// </summary>
/// <remarks>
/// The instance lock is a named lock (<c>GET_LOCK</c>) held by the writer's session: two brokers
/// writing one session store would corrupt each other's state without the server noticing. The
/// server releases it when the session ends, also when the broker is killed. After a network
/// failure the server may keep the store's previous session (and its lock) alive for a while: a
/// reconnecting writer that finds the lock held by its own previous session ends that session.
/// </remarks>
internal sealed class WriterConnection : IDisposable
{
    private const string LockName = "CONCAT('iotpe.broker_store.', DATABASE())";

    private WriterConnection(MySqlConnection connection, BatchStatements statements, long serverThread, long flushLogAtCommit)
    {
        Connection = connection;
        Statements = statements;
        ServerThread = serverThread;
        FlushLogAtTransactionCommit = flushLogAtCommit;
    }

    /// <summary>The open connection.</summary>
    public MySqlConnection Connection { get; }

    /// <summary>Its prepared statements.</summary>
    public BatchStatements Statements { get; }

    /// <summary>The server's id of this session (what <c>KILL</c> takes).</summary>
    public long ServerThread { get; }

    /// <summary>The server's <c>innodb_flush_log_at_trx_commit</c>: 1 is what makes a commit durable.</summary>
    public long FlushLogAtTransactionCommit { get; }

    /// <summary>Opens a connection, takes the instance lock and prepares for writing.</summary>
    /// <param name="connectionString">The store's connection string (pooling off).</param>
    /// <param name="previousServerThread">The id of the writer's previous session, if it had one, whose lock may be ended.</param>
    /// <exception cref="MySqlBrokerStoreException">Another store holds the database.</exception>
    public static WriterConnection Open(string connectionString, long? previousServerThread)
    {
        var connection = new MySqlConnection(connectionString);
        try
        {
            connection.Open();
            // Strict: a value that does not fit fails its write instead of being stored truncated.
            // READ COMMITTED: the writer reads nothing back, and it takes no gap locks.
            Execute(connection, "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', SESSION tx_isolation = 'READ-COMMITTED'");
            TakeInstanceLock(connection, previousServerThread);
            long maxAllowedPacket = QueryInt64(connection, "SELECT @@max_allowed_packet");
            long flushLog = QueryInt64(connection, "SELECT @@innodb_flush_log_at_trx_commit");
            return new WriterConnection(connection, new BatchStatements(connection, maxAllowedPacket), connection.ServerThread, flushLog);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Reads one integer.</summary>
    public static long QueryInt64(MySqlConnection connection, string sql)
    {
        using var command = new MySqlCommand(sql, connection);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        Statements.Dispose();
        Connection.Dispose();
    }

    private static void TakeInstanceLock(MySqlConnection connection, long? previousServerThread)
    {
        if (QueryInt64(connection, $"SELECT COALESCE(GET_LOCK({LockName}, 0), 0)") == 1)
        {
            return;
        }
        object? holder;
        using (var who = new MySqlCommand($"SELECT IS_USED_LOCK({LockName})", connection))
        {
            holder = who.ExecuteScalar();
        }
        if (previousServerThread is { } previous && holder is not null and not DBNull &&
            Convert.ToInt64(holder, CultureInfo.InvariantCulture) == previous)
        {
            // Our own session from before the failure, still alive on the server: end it.
            Execute(connection, string.Create(CultureInfo.InvariantCulture, $"KILL CONNECTION {previous}"));
            if (QueryInt64(connection, $"SELECT COALESCE(GET_LOCK({LockName}, 10), 0)") == 1)
            {
                return;
            }
        }
        throw new MySqlBrokerStoreException(
            $"Another broker store (server session {holder}) is using the database {connection.Database}: only one broker may use a database at a time.");
    }

    private static void Execute(MySqlConnection connection, string sql)
    {
        using var command = new MySqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}

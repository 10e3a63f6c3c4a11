using System.Globalization;
using MySqlConnector;

namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// Applies a batch of operations inside the writer's transaction with few statements: the batch is
/// split by table (writes to different tables commute), and where a table's writes touch distinct
/// rows they commute too and are grouped by shape, each group sent as multi-row prepared statements
/// (<see cref="WriteShape"/>). Where two writes touch the same row, that table's writes keep their
/// order, and only consecutive writes of one shape share a statement (a multi-row statement applies
/// its rows in order, so the outcome is the same). Used by the writer thread only.
/// </summary>
/// <remarks>
/// Statements are prepared once per connection for a few row counts (<see cref="ChunkSizes"/>), so a
/// batch of any size uses a handful of statement texts. A statement stays below the server's
/// <c>max_allowed_packet</c>: rows are taken while they fit, and a single row that cannot fit is
/// refused without being sent (a message larger than the server accepts is refused like any
/// refused write). A statement the server refuses for its data (a duplicate key, a NULL key, a value
/// too long) is rolled back alone by InnoDB; its rows are then written one by one so that only the
/// offending ones are refused.
/// </remarks>
internal sealed class BatchStatements : IDisposable
{
    private static readonly int[] ChunkSizes = [256, 64, 16, 4, 1];
    private static readonly int TableCount = Enum.GetValues<BrokerTable>().Length;

    private readonly MySqlConnection _connection;
    private readonly long _maxStatementBytes;
    private readonly Dictionary<(WriteShape Shape, int Rows), MySqlCommand> _commands = [];
    private readonly List<Write>[] _tables;
    private readonly HashSet<(string?, long)> _keys = [];
    private MySqlTransaction? _transaction;

    /// <summary>Binds to an open connection whose server accepts packets of <paramref name="maxAllowedPacket"/> bytes.</summary>
    public BatchStatements(MySqlConnection connection, long maxAllowedPacket)
    {
        _connection = connection;
        // Leave room for the statement text and the protocol's own framing.
        _maxStatementBytes = Math.Max(64 * 1024, maxAllowedPacket - 64 * 1024);
        _tables = new List<Write>[TableCount];
        for (int i = 0; i < TableCount; i++)
        {
            _tables[i] = [];
        }
    }

    /// <summary>The largest row the server takes.</summary>
    public long MaxRowBytes => _maxStatementBytes;

    /// <summary>Statements executed so far (for tests that count round trips).</summary>
    public long StatementCount { get; private set; }

    /// <summary>
    /// Applies <paramref name="operations"/> (no <c>WhenDurable</c> among them) inside
    /// <paramref name="transaction"/>, calling <paramref name="refused"/> with the index of each
    /// operation the server refused for its data (the rest of the batch goes on).
    /// </summary>
    /// <exception cref="MySqlException">A failure of the transaction or the connection: the batch failed as a whole.</exception>
    public void Apply(IReadOnlyList<StoreOperation> operations, MySqlTransaction transaction, Action<int, string> refused)
    {
        _transaction = transaction;
        try
        {
            foreach (List<Write> table in _tables)
            {
                table.Clear();
            }
            for (int i = 0; i < operations.Count; i++)
            {
                Route(operations, i);
            }
            foreach (List<Write> table in _tables)
            {
                if (table.Count > 0)
                {
                    ApplyTable(table, operations, refused);
                }
            }
        }
        finally
        {
            _transaction = null;
            foreach (List<Write> table in _tables)
            {
                table.Clear();
            }
        }
    }

    /// <summary>Runs one statement without parameters in the current transaction.</summary>
    public void Execute(string sql, MySqlTransaction transaction, long? parameter = null)
    {
        using var command = new MySqlCommand(sql, _connection, transaction);
        if (parameter is { } value)
        {
            command.Parameters.AddWithValue("@value", value);
        }
        command.ExecuteNonQuery();
        StatementCount++;
    }

    public void Dispose()
    {
        foreach (MySqlCommand command in _commands.Values)
        {
            command.Dispose();
        }
        _commands.Clear();
    }

    private void Route(IReadOnlyList<StoreOperation> operations, int index)
    {
        StoreOperation operation = operations[index];
        switch (operation.Kind)
        {
            case StoreOperationKind.SaveSession: Add(WriteShape.SaveSession, index); break;
            case StoreOperationKind.DeleteSession:
                Add(WriteShape.DeleteSessionSubscriptions, index);
                Add(WriteShape.DeleteSessionDeliveries, index);
                Add(WriteShape.DeleteSessionIncoming, index);
                Add(WriteShape.DeleteSession, index);
                break;
            case StoreOperationKind.SaveSubscription: Add(WriteShape.SaveSubscription, index); break;
            case StoreOperationKind.DeleteSubscription: Add(WriteShape.DeleteSubscription, index); break;
            case StoreOperationKind.InsertMessage: Add(WriteShape.InsertMessage, index); break;
            case StoreOperationKind.DeleteMessage: Add(WriteShape.DeleteMessage, index); break;
            case StoreOperationKind.InsertDelivery: Add(WriteShape.InsertDelivery, index); break;
            case StoreOperationKind.MarkDeliveryReleased: Add(WriteShape.MarkDeliveryReleased, index); break;
            case StoreOperationKind.DeleteDelivery: Add(WriteShape.DeleteDelivery, index); break;
            case StoreOperationKind.AddIncomingPacketIdentifier: Add(WriteShape.AddIncomingPacketIdentifier, index); break;
            case StoreOperationKind.RemoveIncomingPacketIdentifier: Add(WriteShape.RemoveIncomingPacketIdentifier, index); break;
            case StoreOperationKind.SetRetained: Add(WriteShape.SetRetained, index); break;
            case StoreOperationKind.ClearRetained: Add(WriteShape.ClearRetained, index); break;
            case StoreOperationKind.ReserveMessageIds: Add(WriteShape.ReserveMessageIds, index); break;
            default: throw new InvalidOperationException($"{operation.Kind} is not a write.");
        }
    }

    private void Add(WriteShape shape, int index) => _tables[(int)shape.Table].Add(new Write(shape, index));

    private void ApplyTable(List<Write> writes, IReadOnlyList<StoreOperation> operations, Action<int, string> refused)
    {
        if (TouchDistinctRows(writes, operations))
        {
            // Distinct rows: any order gives the same table, so group by shape (a stable sort keeps
            // each shape's own order, which matters for nothing here but makes the log readable).
            writes.Sort(static (a, b) => a.Shape.Order != b.Shape.Order ? a.Shape.Order.CompareTo(b.Shape.Order) : a.Index.CompareTo(b.Index));
        }
        int start = 0;
        while (start < writes.Count)
        {
            WriteShape shape = writes[start].Shape;
            int end = start + 1;
            while (end < writes.Count && ReferenceEquals(writes[end].Shape, shape))
            {
                end++;
            }
            ApplyRun(writes, start, end, operations, refused);
            start = end;
        }
    }

    private bool TouchDistinctRows(List<Write> writes, IReadOnlyList<StoreOperation> operations)
    {
        _keys.Clear();
        foreach (Write write in writes)
        {
            if (write.Shape.ByClient || !_keys.Add(write.Shape.Key(operations[write.Index])))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Writes rows [start, end) of one shape in as few statements as fit.</summary>
    private void ApplyRun(List<Write> writes, int start, int end, IReadOnlyList<StoreOperation> operations, Action<int, string> refused)
    {
        WriteShape shape = writes[start].Shape;
        int next = start;
        while (next < end)
        {
            long size = WriteShape.SizeOf(operations[writes[next].Index]);
            if (size > _maxStatementBytes)
            {
                refused(writes[next].Index, string.Create(CultureInfo.InvariantCulture,
                    $"about {size} bytes, more than the server's max_allowed_packet allows ({_maxStatementBytes + 64 * 1024})"));
                next++;
                continue;
            }
            int fit = 1;
            long bytes = size;
            while (next + fit < end && fit < ChunkSizes[0])
            {
                long more = WriteShape.SizeOf(operations[writes[next + fit].Index]);
                if (more > _maxStatementBytes || bytes + more > _maxStatementBytes)
                {
                    break;
                }
                bytes += more;
                fit++;
            }
            int rows = ChunkSizes.First(size => size <= fit);
            ExecuteRows(shape, writes, next, rows, operations, refused);
            next += rows;
        }
    }

    private void ExecuteRows(WriteShape shape, List<Write> writes, int first, int rows, IReadOnlyList<StoreOperation> operations, Action<int, string> refused)
    {
        MySqlCommand command = Command(shape, rows);
        for (int row = 0; row < rows; row++)
        {
            shape.Bind(operations[writes[first + row].Index], command.Parameters, row * shape.ParametersPerRow);
        }
        try
        {
            command.Transaction = _transaction;
            command.ExecuteNonQuery();
            StatementCount++;
        }
        catch (MySqlException exception) when (IsRefusalOfData(exception))
        {
            StatementCount++;
            // InnoDB rolled back this statement only. Find the offending rows.
            if (rows == 1)
            {
                refused(writes[first].Index, $"{exception.ErrorCode}: {exception.Message}");
                return;
            }
            for (int row = 0; row < rows; row++)
            {
                ExecuteRows(shape, writes, first + row, 1, operations, refused);
            }
        }
        finally
        {
            for (int i = 0; i < command.Parameters.Count; i++)
            {
                command.Parameters[i].Value = null; // drop references to the batch's records
            }
        }
    }

    private MySqlCommand Command(WriteShape shape, int rows)
    {
        if (_commands.TryGetValue((shape, rows), out MySqlCommand? command))
        {
            return command;
        }
        command = new MySqlCommand(shape.Sql(rows), _connection, _transaction);
        for (int i = 0; i < rows * shape.ParametersPerRow; i++)
        {
            command.Parameters.Add(new MySqlParameter { Value = DBNull.Value });
        }
        command.Prepare();
        _commands.Add((shape, rows), command);
        return command;
    }

    /// <summary>
    /// Errors that refuse one statement's data and leave the transaction usable (InnoDB rolls back
    /// the statement alone). Anything else fails the batch.
    /// </summary>
    public static bool IsRefusalOfData(MySqlException exception) => exception.ErrorCode is
        MySqlErrorCode.DuplicateKeyEntry or
        MySqlErrorCode.ColumnCannotBeNull or
        MySqlErrorCode.DataTooLong or
        MySqlErrorCode.TruncatedWrongValue or
        MySqlErrorCode.WarningDataOutOfRange or
        MySqlErrorCode.WarningDataTruncated;

    /// <summary>One row-level write: its shape and the index of its operation in the batch.</summary>
    private readonly record struct Write(WriteShape Shape, int Index);
}

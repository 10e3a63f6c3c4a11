using System.Globalization;
using MySqlConnector;

namespace IoTPE.Broker.Storage.MySql;

/// <summary>
/// Applies a batch of operations inside the writer's transaction with few statements: the batch is
/// split by table (writes to different tables commute), and where a table's writes touch distinct
/// rows they commute too and are grouped by shape, each group sent as multi-row prepared statements
/// (<see cref="WriteShape"/>). Where two writes touch the same row, that table's writes keep their
/// order, and only consecutive writes of one shape share a statement (a multi-row statement applies
/// its rows in order, so the outcome is the same). The one write that reads other tables,
/// <c>DeleteDeliveriesAfter</c>, splits the batch: what precedes it is applied first, then it alone.
/// Used by the writer thread only.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="ApplyTogether"/> is the normal path: each group becomes one statement of exactly its
/// rows (up to <see cref="MaxRowsTogether"/>), and the statements go to the server together, as one
/// multi-statement command per round trip of up to <see cref="MaxRoundTripBytes"/> (parameters
/// substituted by the client, text protocol). Under load a round trip cost about as much as the
/// server's work for a hundred rows, so a batch of thousands of rows in chunks of prepared statements
/// spent much of its time waiting for answers. A row too large for a round trip goes on its own
/// as a prepared statement (binary protocol, no escaping), in its place in the order. If the server
/// refuses any statement's data, <see cref="ApplyTogether"/> says so and the caller rolls the whole
/// transaction back and applies the batch again with <see cref="Apply"/>, which finds the refused rows.
/// </para>
/// <para>
/// Statements are prepared once per connection for a few row counts (<see cref="ChunkSizes"/>), so a
/// batch of any size uses a handful of statement texts. A statement stays below the server's
/// <c>max_allowed_packet</c>: rows are taken while they fit, and a single row that cannot fit is
/// refused without being sent (a message larger than the server accepts is refused like any
/// refused write). A statement the server refuses for its data (a duplicate key, a NULL key, a value
/// too long) is rolled back alone by InnoDB; its rows are then written one by one so that only the
/// offending ones are refused.
/// </para>
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
    private readonly MySqlCommand _together;
    private readonly System.Text.StringBuilder _togetherSql = new();
    private readonly List<MySqlParameter> _parameterPool = [];
    private readonly long _maxRoundTripBytes;
    private MySqlTransaction? _transaction;
    private bool _applyingTogether;
    private long _togetherBytes;
    private bool _togetherRefused;

    /// <summary>Rows of one statement in <see cref="ApplyTogether"/>: below MariaDB's <c>in_predicate_conversion_threshold</c> (1000), so an IN list stays a list of index lookups.</summary>
    public const int MaxRowsTogether = 500;

    /// <summary>The most a multi-statement round trip carries (bytes of values, counted as the client may escape them).</summary>
    public const long MaxRoundTripBytes = 4 * 1024 * 1024;

    /// <summary>Binds to an open connection whose server accepts packets of <paramref name="maxAllowedPacket"/> bytes.</summary>
    public BatchStatements(MySqlConnection connection, long maxAllowedPacket)
    {
        _connection = connection;
        // Leave room for the statement text and the protocol's own framing.
        _maxStatementBytes = Math.Max(64 * 1024, maxAllowedPacket - 64 * 1024);
        // Escaped by the client, a byte may take two.
        _maxRoundTripBytes = Math.Min(MaxRoundTripBytes, _maxStatementBytes / 2);
        _together = new MySqlCommand { Connection = connection };
        _tables = new List<Write>[TableCount];
        for (int i = 0; i < TableCount; i++)
        {
            _tables[i] = [];
        }
    }

    /// <summary>The largest row the server takes.</summary>
    public long MaxRowBytes => _maxStatementBytes;

    /// <summary>Commands sent so far, a multi-statement round trip counting once (for tests that count round trips).</summary>
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
            int start = 0;
            while (start < operations.Count && !(_applyingTogether && _togetherRefused))
            {
                // A write that reads other tables (DeleteDeliveriesAfter) does not commute with
                // anything: the writes before it are applied first, table by table, then it alone.
                int end = start;
                while (end < operations.Count && operations[end].Kind != StoreOperationKind.DeleteDeliveriesAfter)
                {
                    end++;
                }
                ApplyTables(operations, start, end, refused);
                if (end < operations.Count)
                {
                    ApplyTables(operations, end, end + 1, refused);
                }
                start = end + 1;
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

    /// <summary>Applies operations [start, end), which commute across tables, table by table.</summary>
    private void ApplyTables(IReadOnlyList<StoreOperation> operations, int start, int end, Action<int, string> refused)
    {
        foreach (List<Write> table in _tables)
        {
            table.Clear();
        }
        for (int i = start; i < end; i++)
        {
            Route(operations, i);
        }
        foreach (List<Write> table in _tables)
        {
            if (table.Count > 0 && !(_applyingTogether && _togetherRefused))
            {
                ApplyTable(table, operations, refused);
            }
        }
    }

    /// <summary>
    /// Applies <paramref name="operations"/> inside <paramref name="transaction"/> in as few round
    /// trips as fit, the last of them ending with <paramref name="finalSql"/> (one <c>?</c> bound to
    /// <paramref name="finalParameter"/>). False when the server refused a statement's data (or a row
    /// exceeds what the server takes): the transaction then holds part of the batch, and the caller
    /// must roll it back and use <see cref="Apply"/>.
    /// </summary>
    /// <exception cref="MySqlException">A failure of the transaction or the connection: the batch failed as a whole.</exception>
    public bool ApplyTogether(IReadOnlyList<StoreOperation> operations, MySqlTransaction transaction, string finalSql, long finalParameter)
    {
        _applyingTogether = true;
        _togetherRefused = false;
        try
        {
            Apply(operations, transaction, (_, _) => _togetherRefused = true);
            if (_togetherRefused)
            {
                return false;
            }
            _transaction = transaction;
            AppendStatement(finalSql, 1);
            _parameterPool[_together.Parameters.Count - 1].Value = finalParameter;
            return SendTogether();
        }
        finally
        {
            _applyingTogether = false;
            _togetherRefused = false;
            _transaction = null;
            ClearTogether();
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
        _together.Dispose();
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
            case StoreOperationKind.DeleteDeliveriesAfter:
                // Alone in its part of the batch (see Apply); the tables go in order, messages before deliveries.
                Add(WriteShape.DeleteMessagesOnlyAfter, index);
                Add(WriteShape.DeleteDeliveriesAfter, index);
                break;
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
        if (shape.SharesClient)
        {
            // Deletes and the released mark are idempotent and commute among themselves, so a run of
            // them may be reordered: by client, so that each statement names one client.
            writes.Sort(start, end - start, Comparer<Write>.Create((a, b) =>
            {
                int byClient = string.CompareOrdinal(operations[a.Index].Text, operations[b.Index].Text);
                return byClient != 0 ? byClient : operations[a.Index].Number.CompareTo(operations[b.Index].Number);
            }));
        }
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
            while (next + fit < end && fit < (_applyingTogether ? MaxRowsTogether : ChunkSizes[0]) &&
                   (!shape.SharesClient || string.Equals(operations[writes[next + fit].Index].Text, operations[writes[next].Index].Text, StringComparison.Ordinal)))
            {
                long more = WriteShape.SizeOf(operations[writes[next + fit].Index]);
                if (more > _maxStatementBytes || bytes + more > _maxStatementBytes)
                {
                    break;
                }
                bytes += more;
                fit++;
            }
            if (_applyingTogether)
            {
                if (_togetherRefused)
                {
                    return;
                }
                next += AppendRows(shape, writes, next, fit, operations);
                continue;
            }
            int rows = ChunkSizes.First(size => size <= fit);
            ExecuteRows(shape, writes, next, rows, operations, refused);
            next += rows;
        }
    }

    private void ExecuteRows(WriteShape shape, List<Write> writes, int first, int rows, IReadOnlyList<StoreOperation> operations, Action<int, string> refused)
    {
        MySqlCommand command = Command(shape, rows);
        if (shape.SharesClient)
        {
            WriteShape.BindClient(operations[writes[first].Index], command.Parameters);
        }
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

    /// <summary>
    /// Adds up to <paramref name="fit"/> rows starting at <paramref name="first"/> as one statement to
    /// the pending round trip, sending it first if they would not fit; a row too large for any round
    /// trip is executed alone, prepared. Returns how many rows it took.
    /// </summary>
    private int AppendRows(WriteShape shape, List<Write> writes, int first, int fit, IReadOnlyList<StoreOperation> operations)
    {
        int rows = 0;
        long bytes = 0;
        while (rows < fit)
        {
            long more = 2 * WriteShape.SizeOf(operations[writes[first + rows].Index]);
            if (rows > 0 && _togetherBytes + bytes + more > _maxRoundTripBytes)
            {
                break;
            }
            bytes += more;
            rows++;
        }
        if (_togetherBytes > 0 && _togetherBytes + bytes > _maxRoundTripBytes)
        {
            if (!SendTogether())
            {
                return rows;
            }
        }
        if (bytes > _maxRoundTripBytes)
        {
            // One row, larger than a round trip carries: alone, prepared, in its place in the order.
            ExecuteRows(shape, writes, first, 1, operations, (_, _) => _togetherRefused = true);
            return 1;
        }
        MySqlParameterCollection parameters = _together.Parameters;
        int at = parameters.Count;
        AppendStatement(shape.Sql(rows), shape.ParameterCount(rows));
        if (shape.SharesClient)
        {
            _parameterPool[at].Value = WriteShape.ClientValue(operations[writes[first].Index]);
            at++;
        }
        for (int row = 0; row < rows; row++)
        {
            shape.Bind(operations[writes[first + row].Index], parameters, at + row * shape.ParametersPerRow - (shape.SharesClient ? 1 : 0));
        }
        _togetherBytes += bytes;
        return rows;
    }

    /// <summary>Appends a statement and its (unset) parameters to the pending round trip.</summary>
    private void AppendStatement(string sql, int parameterCount)
    {
        if (_togetherSql.Length > 0)
        {
            _togetherSql.Append(";\n");
        }
        _togetherSql.Append(sql);
        MySqlParameterCollection parameters = _together.Parameters;
        int needed = parameters.Count + parameterCount;
        while (_parameterPool.Count < needed)
        {
            _parameterPool.Add(new MySqlParameter());
        }
        for (int i = parameters.Count; i < needed; i++)
        {
            parameters.Add(_parameterPool[i]);
        }
    }

    /// <summary>Sends the pending round trip; false if the server refused a statement's data.</summary>
    private bool SendTogether()
    {
        if (_togetherSql.Length == 0)
        {
            return true;
        }
        try
        {
            _together.CommandText = _togetherSql.ToString();
            _together.Transaction = _transaction;
            _together.ExecuteNonQuery();
            StatementCount++;
            return true;
        }
        catch (MySqlException exception) when (IsRefusalOfData(exception))
        {
            StatementCount++;
            _togetherRefused = true;
            return false;
        }
        finally
        {
            ClearTogether();
        }
    }

    private void ClearTogether()
    {
        for (int i = 0; i < _together.Parameters.Count; i++)
        {
            _parameterPool[i].Value = null; // drop references to the batch's records
        }
        _together.Parameters.Clear();
        _togetherSql.Clear();
        _togetherBytes = 0;
    }

    private MySqlCommand Command(WriteShape shape, int rows)
    {
        if (_commands.TryGetValue((shape, rows), out MySqlCommand? command))
        {
            return command;
        }
        command = new MySqlCommand(shape.Sql(rows), _connection, _transaction);
        for (int i = 0; i < shape.ParameterCount(rows); i++)
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

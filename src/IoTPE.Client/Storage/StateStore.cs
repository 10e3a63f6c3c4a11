using System.Collections.Concurrent;
using IoTPE.Client.Logging;
using Microsoft.Extensions.Logging;

namespace IoTPE.Client.Storage;

/// <summary>
/// The single writer of the state file: a dedicated thread takes every unit of work submitted since its last pass,
/// runs them in one transaction and commits once (group commit), then reports to each unit in order. Callers never
/// block: they submit work and await its completion.
/// </summary>
internal sealed class StateStore : IAsyncDisposable
{
    private const int MaxBatch = 512;

    /// <summary>The smallest batch that counts as a pipeline worth waiting for (see <see cref="GatherFollowers"/>).</summary>
    private const int MinPipelinedBatch = 16;

    /// <summary>Milliseconds deferrable units wait for a group commit to ride on before they get one of their own.</summary>
    internal const int DeferredWaitMs = 50;

    /// <summary>Milliseconds a batch may wait for its followers.</summary>
    private const int FollowerWait = 1;

    private readonly StateDatabase _database;
    private readonly ILogger _logger;
    private readonly BlockingCollection<StoreWork> _queue = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _thread;

    private StateStore(StateDatabase database, ILogger logger)
    {
        _database = database;
        _logger = logger;
        _thread = new Thread(WriteLoop) { IsBackground = true, Name = "IoTPE.Client state writer" };
    }

    /// <summary>Opens the state file (blocking I/O: call from a worker thread) and reads what was left in it.</summary>
    public static StateStore Open(string path, SqliteSynchronous synchronous, string clientId, ILogger logger, out List<IncomingRow> incoming, out List<ushort> outgoingPacketIds)
    {
        StateDatabase database = StateDatabase.Open(path, synchronous, clientId);
        try
        {
            incoming = database.ReadIncoming();
            outgoingPacketIds = database.ReadOutgoingPacketIds();
        }
        catch
        {
            database.Dispose();
            throw;
        }

        var store = new StateStore(database, logger);
        store._thread.Start();
        return store;
    }

    /// <summary>Queues work; it runs in the next batch.</summary>
    /// <exception cref="ObjectDisposedException">The store is stopping.</exception>
    public void Submit(StoreWork work)
    {
        try
        {
            _queue.Add(work);
        }
        catch (InvalidOperationException ex)
        {
            throw new ObjectDisposedException("The client's state store is closed.", ex);
        }
    }

    /// <summary>Queues work and returns a task that completes once it is committed.</summary>
    public Task SubmitAsync(Action<StateDatabase> execute)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Submit(new StoreWork(execute, error =>
        {
            if (error is null)
            {
                done.TrySetResult();
            }
            else
            {
                done.TrySetException(error);
            }
        }));
        return done.Task;
    }

    /// <summary>Finishes the queued work, then closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.CompleteAdding();
        await _stopped.Task.ConfigureAwait(false);
        _queue.Dispose();
    }

    private void WriteLoop()
    {
        var batch = new List<StoreWork>(MaxBatch);
        var errors = new Exception?[MaxBatch];
        try
        {
            int previous = 0;
            while (_queue.TryTake(out StoreWork? first, Timeout.Infinite))
            {
                batch.Add(first);
                while (batch.Count < MaxBatch && _queue.TryTake(out StoreWork? next))
                {
                    batch.Add(next);
                }

                WaitForUrgentWork(batch);
                GatherFollowers(batch, previous);
                previous = batch.Count;

                RunBatch(batch, errors);
                for (int i = 0; i < batch.Count; i++)
                {
                    try
                    {
                        batch[i].Completed?.Invoke(errors[i]);
                    }
                    catch (Exception ex)
                    {
                        ClientLog.StoreCallbackFailed(_logger, ex);
                    }

                    errors[i] = null;
                }

                batch.Clear();
            }
        }
        catch (InvalidOperationException)
        {
            // Completed for adding and empty.
        }
        finally
        {
            _database.Dispose();
            _stopped.TrySetResult();
        }
    }

    /// <summary>Holds a batch of deferrable units only (<see cref="StoreWork.Deferrable"/>) until a unit someone waits for arrives, or <see cref="DeferredWaitMs"/> passed.</summary>
    private void WaitForUrgentWork(List<StoreWork> batch)
    {
        if (!batch.TrueForAll(work => work.Deferrable))
        {
            return;
        }

        long deadline = Environment.TickCount64 + DeferredWaitMs;
        while (batch.Count < MaxBatch)
        {
            long remaining = deadline - Environment.TickCount64;
            if (remaining <= 0 || !_queue.TryTake(out StoreWork? next, (int)remaining))
            {
                return; // Waited long enough, or the store is closing.
            }

            batch.Add(next);
            if (!next.Deferrable)
            {
                return;
            }
        }
    }

    /// <summary>
    /// A commit delay for pipelines: when the last batch was large and this one is starting small, the work that makes
    /// up the rest is usually a network round trip away (the acknowledgements of what the last commit let out, and the
    /// publishes their callers make next). Waiting up to <see cref="FollowerWait"/> for it lets one fsync serve both
    /// instead of two; a lone publish (small batches) never waits.
    /// </summary>
    private void GatherFollowers(List<StoreWork> batch, int previous)
    {
        if (previous < MinPipelinedBatch || batch.Count >= previous / 2)
        {
            return;
        }

        long deadline = Environment.TickCount64 + FollowerWait;
        while (batch.Count < previous / 2 && batch.Count < MaxBatch)
        {
            long remaining = deadline - Environment.TickCount64;
            if (remaining <= 0 || !_queue.TryTake(out StoreWork? next, (int)remaining))
            {
                return;
            }

            batch.Add(next);
            while (batch.Count < MaxBatch && _queue.TryTake(out StoreWork? more))
            {
                batch.Add(more);
            }
        }
    }

    private void RunBatch(List<StoreWork> batch, Exception?[] errors)
    {
        try
        {
            _database.Begin();
            for (int i = 0; i < batch.Count; i++)
            {
                if (batch[i].WithoutSavepoint)
                {
                    try
                    {
                        batch[i].Execute(_database);
                    }
                    catch (IoTPE.Sqlite.SqliteStoreException ex) when (IoTPE.Sqlite.SqliteResultCodes.IsStatementLevel(ex.ResultCode))
                    {
                        errors[i] = ex; // Only this statement was undone; the transaction goes on.
                    }

                    // Any other failure may have ended the transaction: it fails the batch (below).
                    continue;
                }

                _database.Savepoint();
                try
                {
                    batch[i].Execute(_database);
                    _database.ReleaseSavepoint();
                }
                catch (Exception ex)
                {
                    errors[i] = ex;
                    _database.RollbackToSavepoint();
                }
            }

            _database.Commit();
        }
        catch (Exception ex)
        {
            ClientLog.StoreCommitFailed(_logger, ex);
            _database.Rollback();
            for (int i = 0; i < batch.Count; i++)
            {
                errors[i] ??= ex;
            }
        }
    }
}

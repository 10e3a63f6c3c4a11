using System.Collections.Concurrent;
using IoTPE.Scripting.Runtime;
using IoTPE.Threading;

namespace IoTPE.Scripting;

/// <summary>
/// Runs scripts for many owners (accounts): each owner has its own <see cref="ScriptHeap"/>,
/// created on first use and rebuilt after a run that may have damaged it; one owner's runs happen
/// strictly in the order they were submitted; different owners run in parallel on a fixed set of
/// worker threads with large stacks, taking turns round-robin: a turn is up to 16 runs or 2 ms,
/// whichever ends first. A script that spins until its time budget ends holds one worker for
/// that long and then lets the next owner's run go first.
/// </summary>
public sealed class ScriptRuntime : IDisposable
{
    // Runs of one owner taken in a row before the owner goes back to the end of the ready queue,
    // so that a busy owner amortizes the hand-off without starving the others.
    private const int RunsPerTurn = 16;

    // A turn also ends once it has taken this long: an owner whose runs are slow (a script that
    // spins until its time budget ends) gets one run per turn, so another owner waits for at most
    // one run budget per worker, not sixteen.
    private static readonly TimeSpan TurnLength = TimeSpan.FromMilliseconds(2);

    private readonly ScriptRuntimeOptions _options;
    private readonly ConcurrentDictionary<string, ScriptOwnerQueue> _owners = new(StringComparer.Ordinal);
    private readonly ReadyOwners _ready = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread[] _workers;
    private readonly ScriptHeap?[] _running;
    private readonly ITimer? _idleHeapSweep;
    private volatile bool _disposed;

    /// <summary>Starts the worker threads.</summary>
    public ScriptRuntime(ScriptRuntimeOptions? options = null)
    {
        _options = options ?? new ScriptRuntimeOptions();
        _options.Validate();
        _running = new ScriptHeap?[_options.WorkerCount];
        _workers = new Thread[_options.WorkerCount];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i;
            _workers[i] = new Thread(() => WorkerLoop(index), _options.WorkerStackBytes)
            {
                IsBackground = true,
                Name = $"iotpe-script-{i}",
            };
            _workers[i].Start();
        }
        if (_options.IdleHeapLifetime != Timeout.InfiniteTimeSpan)
        {
            TimeSpan period = TimeSpan.FromTicks(Math.Clamp(_options.IdleHeapLifetime.Ticks / 4, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerMinute));
            _idleHeapSweep = _options.TimeProvider.CreateTimer(static state => ((ScriptRuntime)state!).ReleaseIdleOwners(), this, period, period);
        }
    }

    /// <summary>Owners that currently have an entry (a heap, or work queued or running).</summary>
    public int OwnerCount => _owners.Count;

    /// <summary>The options this runtime was started with.</summary>
    public ScriptRuntimeOptions Options => _options;

    /// <summary>
    /// Queues a run of <paramref name="source"/>, cached in the owner's heap under
    /// <paramref name="scriptKey"/> (one key per version, e.g. <c>calc@3</c>: a key's text must
    /// not change), with <paramref name="messageJson"/> (UTF-8 JSON; not to be changed until the
    /// task completes) as the script's <c>message</c>. Host calls go to <paramref name="host"/> on
    /// the worker thread.
    /// </summary>
    /// <returns>
    /// The run's result; <see cref="ScriptRunStatus.CompileFailed"/> when the script does not compile.
    /// Canceled when <paramref name="cancellationToken"/> is canceled before the run ends (a run
    /// stopped midway may have made host calls) or the runtime is disposed first.
    /// </returns>
    public Task<ScriptRunResult> RunAsync(string owner, string scriptKey, ScriptSource source, ReadOnlyMemory<byte> messageJson,
        IScriptHost host, CancellationToken cancellationToken = default) =>
        Submit(owner, scriptKey, source, messageJson, null, host, cancellationToken);

    /// <summary>
    /// As the UTF-8 overload, with the message of a run an MQTT message triggered as a record: the
    /// script gets the object its JSON would give, without the JSON.
    /// </summary>
    public Task<ScriptRunResult> RunAsync(string owner, string scriptKey, ScriptSource source, RunMessage message,
        IScriptHost host, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Submit(owner, scriptKey, source, default, message, host, cancellationToken);
    }

    /// <summary>As the UTF-8 overload, with the message as a string of JSON.</summary>
    public Task<ScriptRunResult> RunAsync(string owner, string scriptKey, ScriptSource source, string messageJson,
        IScriptHost host, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageJson);
        return Submit(owner, scriptKey, source, default, messageJson, host, cancellationToken);
    }

    /// <summary>
    /// Frees the owner's heap once its queued runs are done (e.g. the account was removed). A
    /// later run for the owner starts with a fresh heap.
    /// </summary>
    public Task ReleaseOwnerAsync(string owner)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var request = ScriptRunRequest.Release();
        Enqueue(owner, request);
        return request.Completion.Task;
    }

    /// <summary>
    /// Runs <paramref name="callback"/> on the owner's worker, in order with the owner's runs: for
    /// short work that belongs with them (the engine's per-account dispatch loop starts this way,
    /// on a thread that is about to run the owner's script anyway, instead of waking a thread-pool
    /// thread). It holds a worker while it runs, so it must not block. A callback still queued when the runtime
    /// stops, or posted after that, runs on the thread pool instead: it is never dropped.
    /// </summary>
    public void Post(string owner, Action callback)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentNullException.ThrowIfNull(callback);
        try
        {
            Enqueue(owner, ScriptRunRequest.Post(callback));
        }
        catch (ObjectDisposedException)
        {
            RunOnThreadPool(callback);
        }
    }

    // An idle owner's heap is freed through the same ordered release an account removal uses, so
    // that only the owner's own worker ever touches the heap. Work submitted meanwhile runs first
    // and keeps the entry; it only costs that owner a fresh heap on its next run.
    private void ReleaseIdleOwners()
    {
        TimeProvider clock = _options.TimeProvider;
        foreach (ScriptOwnerQueue queue in _owners.Values)
        {
            if (_disposed)
            {
                return;
            }
            if (clock.GetElapsedTime(queue.LastUsed) <= _options.IdleHeapLifetime)
            {
                continue;
            }
            lock (queue.Sync)
            {
                if (queue.Scheduled || queue.Removed)
                {
                    continue;
                }
            }
            try
            {
                _ = ReleaseOwnerAsync(queue.Owner);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Stops the workers: running scripts are interrupted, queued runs are canceled, heaps freed.
    /// Must not be called from a host call (it waits for the worker threads).
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        if (Array.IndexOf(_workers, Thread.CurrentThread) >= 0)
        {
            throw new InvalidOperationException("A script runtime cannot be disposed from one of its own worker threads.");
        }
        _disposed = true;
        _idleHeapSweep?.Dispose();
        _stopping.Cancel();
        _ready.Close();
        for (int i = 0; i < _running.Length; i++)
        {
            Volatile.Read(ref _running[i])?.RequestInterrupt();
        }
        foreach (Thread worker in _workers)
        {
            worker.Join();
        }
        foreach (ScriptOwnerQueue queue in _owners.Values)
        {
            CancelPending(queue);
            queue.Heap?.Dispose();
            queue.Heap = null;
        }
        _stopping.Dispose();
    }

    private Task<ScriptRunResult> Submit(string owner, string scriptKey, ScriptSource source, ReadOnlyMemory<byte> messageUtf8,
        object? message, IScriptHost host, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentException.ThrowIfNullOrEmpty(scriptKey);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(host);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<ScriptRunResult>(cancellationToken);
        }
        var request = ScriptRunRequest.Run(scriptKey, source, messageUtf8, message, host, _options.ContinueRunsOnWorker, cancellationToken);
        if (cancellationToken.CanBeCanceled)
        {
            // A run still waiting in the queue is canceled at once; the worker skips it later and
            // drops this registration when it takes the request.
            request.QueuedCancellation = cancellationToken.Register(
                static state => ((ScriptRunRequest)state!).Completion.TrySetCanceled(((ScriptRunRequest)state!).CancellationToken), request);
        }
        Enqueue(owner, request);
        return request.Completion.Task;
    }

    private void Enqueue(string owner, ScriptRunRequest request)
    {
        while (true)
        {
            ScriptOwnerQueue queue = _owners.GetOrAdd(owner, static o => new ScriptOwnerQueue(o));
            bool schedule;
            lock (queue.Sync)
            {
                if (queue.Removed)
                {
                    continue;
                }
                ObjectDisposedException.ThrowIf(_disposed, this);
                queue.Pending.Enqueue(request);
                if (!request.IsRelease)
                {
                    queue.LastUsed = _options.TimeProvider.GetTimestamp();
                }
                schedule = !queue.Scheduled;
                queue.Scheduled = true;
            }
            // Outside the owner's lock: the worker this wakes takes that lock first thing.
            if (schedule)
            {
                _ready.Add(queue);
            }
            return;
        }
    }

    private void WorkerLoop(int index)
    {
        // Ends when disposed: Dispose() cancels what is left.
        using var wake = new WakeSignal();
        CorePacking.JoinCurrentThread(); // with the socket loops: a run request is received there and run here
        try
        {
            while (_ready.TryTake(wake, out ScriptOwnerQueue? queue))
            {
                TakeTurn(queue, index);
            }
        }
        finally
        {
            CorePacking.LeaveCurrentThread();
        }
    }

    private void TakeTurn(ScriptOwnerQueue queue, int index)
    {
        TimeProvider clock = _options.TimeProvider;
        long turnStart = clock.GetTimestamp();
        for (int i = 0; i < RunsPerTurn && !_disposed && (i == 0 || clock.GetElapsedTime(turnStart) < TurnLength); i++)
        {
            ScriptRunRequest? request;
            lock (queue.Sync)
            {
                if (!queue.Pending.TryDequeue(out request))
                {
                    queue.Scheduled = false;
                    return;
                }
            }
            Execute(queue, request, index);
        }
        lock (queue.Sync)
        {
            if (queue.Pending.Count == 0 || _disposed)
            {
                queue.Scheduled = false;
                return;
            }
        }
        // More work: back to the end of the ready queue, still scheduled.
        _ready.Add(queue);
    }

    private void Execute(ScriptOwnerQueue queue, ScriptRunRequest request, int index)
    {
        if (request.Callback is { } callback)
        {
            try
            {
                callback();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A posted callback must not throw; if it does, the worker lives on.
                request.Completion.TrySetException(e);
            }
            return;
        }
        if (request.IsRelease)
        {
            queue.Heap?.Dispose();
            queue.Heap = null;
            lock (queue.Sync)
            {
                if (queue.Pending.Count == 0)
                {
                    queue.Removed = true;
                    _owners.TryRemove(new KeyValuePair<string, ScriptOwnerQueue>(queue.Owner, queue));
                }
            }
            request.Completion.TrySetResult(ScriptRunRequest.ReleasedResult);
            return;
        }
        request.QueuedCancellation.Dispose();
        CancellationToken cancellationToken = request.CancellationToken;
        if (cancellationToken.IsCancellationRequested)
        {
            request.Completion.TrySetCanceled(cancellationToken);
            return;
        }
        try
        {
            ScriptHeap heap = HeapFor(queue);
            string scriptKey = request.ScriptKey!;
            if (!heap.IsLoaded(scriptKey, request.Source!))
            {
                ScriptError? compileError = heap.Load(scriptKey, request.Source!);
                if (compileError is not null)
                {
                    request.Completion.TrySetResult(new ScriptRunResult { Status = ScriptRunStatus.CompileFailed, Error = compileError });
                    return;
                }
            }

            heap.ClearInterrupt();
            // Published with a full fence, then _disposed read: either Dispose() sees this heap
            // and interrupts it, or this thread sees Dispose() and interrupts it itself.
            Interlocked.Exchange(ref _running[index], heap);
            if (_disposed)
            {
                heap.RequestInterrupt();
            }
            ScriptRunResult result;
            using (cancellationToken.Register(static h => ((ScriptHeap)h!).RequestInterrupt(), heap))
            {
                result = request.Message switch
                {
                    RunMessage message => heap.Run(scriptKey, message, request.Host!),
                    string text => heap.Run(scriptKey, text, request.Host!),
                    _ => heap.Run(scriptKey, request.MessageUtf8.Span, request.Host!),
                };
            }
            Volatile.Write(ref _running[index], null);

            if (result.Interrupted)
            {
                request.Completion.TrySetCanceled(cancellationToken.IsCancellationRequested ? cancellationToken : _stopping.Token);
            }
            else
            {
                request.Completion.TrySetResult(result);
            }
        }
        catch (Exception e)
        {
            Volatile.Write(ref _running[index], null);
            request.Completion.TrySetException(e);
        }
    }

    private ScriptHeap HeapFor(ScriptOwnerQueue queue)
    {
        if (queue.Heap is { NeedsRebuild: false } heap)
        {
            return heap;
        }
        queue.Heap?.Dispose();
        queue.Heap = null;
        queue.Heap = ScriptHeap.Create(_options.Limits);
        return queue.Heap;
    }

    // A posted callback the workers will not run (the runtime stopped) still runs: never dropped.
    private static void RunOnThreadPool(Action callback) =>
        ThreadPool.UnsafeQueueUserWorkItem(static c => c(), callback, preferLocal: false);

    private static void CancelPending(ScriptOwnerQueue queue)
    {
        var pending = new List<ScriptRunRequest>();
        lock (queue.Sync)
        {
            while (queue.Pending.TryDequeue(out ScriptRunRequest? request))
            {
                pending.Add(request);
            }
            queue.Scheduled = false;
        }
        // Completed outside the lock: a continuation runs on the thread that completes its task.
        foreach (ScriptRunRequest request in pending)
        {
            if (request.Callback is { } callback)
            {
                RunOnThreadPool(callback);
                continue;
            }
            request.QueuedCancellation.Dispose();
            request.Completion.TrySetCanceled();
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using IoTPE.TestSupport;

namespace IoTPE.Scripting.Tests;

public sealed class ScriptRuntimeTests : IDisposable
{
    private static readonly ScriptSource Echo = new("echo.js", "log(String(message.n)); return message.n;");

    private readonly ScriptRuntime _runtime = new(new ScriptRuntimeOptions { WorkerCount = 2 });

    public void Dispose() => _runtime.Dispose();

    [Fact]
    public async Task A_run_returns_the_scripts_result()
    {
        ScriptRunResult result = await _runtime.RunAsync("acme", "calc@1", new ScriptSource("calc.js", "return message.a * message.b;"),
            """{"a": 6, "b": 7}""", new RecordingHost());
        Assert.Equal(ScriptRunStatus.Completed, result.Status);
        Assert.Equal("42", result.ResultJson);
        ScriptRunResult utf8 = await _runtime.RunAsync("acme", "calc@1", new ScriptSource("calc.js", "return message.a * message.b;"),
            """{"a": 2, "b": 3}"""u8.ToArray(), new RecordingHost());
        Assert.Equal("6", utf8.ResultJson);
    }

    [Fact]
    public async Task A_script_that_does_not_compile_reports_its_position()
    {
        ScriptRunResult result = await _runtime.RunAsync("acme", "bad@1", new ScriptSource("bad.js", "return 1;\nreturn (;"), "{}", new RecordingHost());
        Assert.Equal(ScriptRunStatus.CompileFailed, result.Status);
        Assert.Equal(new SourcePosition(2, 9), result.Error!.Position);
    }

    [Fact]
    public async Task An_owner_keeps_its_heap_between_runs_and_owners_do_not_share_one()
    {
        var host = new RecordingHost();
        var set = new ScriptSource("set.js", "globalThis.counter = (globalThis.counter || 0) + 1; return counter;");
        Assert.Equal("1", (await _runtime.RunAsync("a", "set@1", set, "{}", host)).ResultJson);
        Assert.Equal("2", (await _runtime.RunAsync("a", "set@1", set, "{}", host)).ResultJson);
        Assert.Equal("1", (await _runtime.RunAsync("b", "set@1", set, "{}", host)).ResultJson);
    }

    [Fact]
    public async Task Versions_run_the_text_they_were_given()
    {
        var host = new RecordingHost();
        Assert.Equal("1", (await _runtime.RunAsync("a", "calc@1", new ScriptSource("calc", "return 1;"), "{}", host)).ResultJson);
        Assert.Equal("2", (await _runtime.RunAsync("a", "calc@2", new ScriptSource("calc", "return 2;"), "{}", host)).ResultJson);
        Assert.Equal("1", (await _runtime.RunAsync("a", "calc@1", new ScriptSource("calc", "return 1;"), "{}", host)).ResultJson);
        // A key reused for different text (a caller's mistake) still runs the text given.
        Assert.Equal("3", (await _runtime.RunAsync("a", "calc@1", new ScriptSource("calc", "return 3;"), "{}", host)).ResultJson);
    }

    [Theory]
    [InlineData("while (true) {}", ScriptRunStatus.TimedOut)]
    [InlineData("var a = []; while (true) a.push('x'.repeat(1e6) + a.length);", ScriptRunStatus.OutOfMemory)]
    public async Task A_damaged_heap_is_rebuilt_before_the_owners_next_run(string damage, ScriptRunStatus status)
    {
        var host = new RecordingHost();
        var remember = new ScriptSource("remember.js", "globalThis.state = 'kept'; return state;");
        var recall = new ScriptSource("recall.js", "return typeof state;");
        Assert.Equal("\"kept\"", (await _runtime.RunAsync("a", "remember@1", remember, "{}", host)).ResultJson);
        Assert.Equal("\"string\"", (await _runtime.RunAsync("a", "recall@1", recall, "{}", host)).ResultJson);
        Assert.Equal(status, (await _runtime.RunAsync("a", "damage@1", new ScriptSource("damage.js", damage), "{}", host)).Status);
        ScriptRunResult after = await _runtime.RunAsync("a", "recall@1", recall, "{}", host);
        Assert.Equal("\"undefined\"", after.ResultJson);
        Assert.Equal("\"kept\"", (await _runtime.RunAsync("a", "remember@1", remember, "{}", host)).ResultJson);
    }

    [Fact]
    public async Task Runs_of_one_owner_happen_in_submission_order()
    {
        var host = new RecordingHost();
        var other = new RecordingHost();
        var tasks = new List<Task<ScriptRunResult>>();
        for (int n = 0; n < 2000; n++)
        {
            tasks.Add(_runtime.RunAsync("ordered", "echo@1", Echo, $"{{\"n\": {n}}}", host));
            if (n % 3 == 0)
            {
                tasks.Add(_runtime.RunAsync($"other{n % 5}", "echo@1", Echo, $"{{\"n\": {n}}}", other));
            }
        }
        await Task.WhenAll(tasks);
        Assert.Equal(Enumerable.Range(0, 2000).Select(n => $"[\"info\",\"{n}\"]"), host.Calls.Select(c => c.Arguments));
    }

    [Fact]
    public async Task Runs_submitted_from_many_threads_keep_each_threads_order()
    {
        var host = new RecordingHost();
        const int Threads = 4, PerThread = 500;
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(async () =>
        {
            var mine = new List<Task<ScriptRunResult>>();
            for (int i = 0; i < PerThread; i++)
            {
                mine.Add(_runtime.RunAsync("shared", "echo@1", Echo, $"{{\"n\": {t * 100000 + i}}}", host));
            }
            await Task.WhenAll(mine);
        })));
        int[] seen = [.. host.Calls.Select(c => int.Parse(JsonDocument.Parse(c.Arguments).RootElement[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(Threads * PerThread, seen.Length);
        for (int t = 0; t < Threads; t++)
        {
            int[] ofThread = [.. seen.Where(n => n / 100000 == t)];
            Assert.Equal(Enumerable.Range(t * 100000, PerThread), ofThread);
        }
    }

    [Fact]
    public async Task Different_owners_run_in_parallel_and_one_owner_runs_serially()
    {
        // Counted overlap instead of elapsed time, so a loaded machine cannot fail (or pass) it by timing.
        int active = 0, mostActive = 0;
        using var bothInside = new Barrier(2);
        bool waitForPartner = true;
        var host = new RecordingHost().Answer(ScriptHostFunction.DbQuery, _ =>
        {
            int now = Interlocked.Increment(ref active);
            InterlockedMax(ref mostActive, now);
            if (Volatile.Read(ref waitForPartner))
                bothInside.SignalAndWait(TimeSpan.FromSeconds(10));
            else
                Thread.Sleep(150);
            Interlocked.Decrement(ref active);
            return "[]";
        });
        var script = new ScriptSource("slow.js", "db.query('SELECT slowly'); return 1;");

        await Task.WhenAll(_runtime.RunAsync("a", "slow@1", script, "{}", host), _runtime.RunAsync("b", "slow@1", script, "{}", host));
        Assert.Equal(2, mostActive);

        Volatile.Write(ref waitForPartner, false);
        mostActive = 0;
        await Task.WhenAll(_runtime.RunAsync("a", "slow@1", script, "{}", host), _runtime.RunAsync("a", "slow@1", script, "{}", host),
            _runtime.RunAsync("a", "slow@1", script, "{}", host));
        Assert.Equal(1, mostActive);

        static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
            {
            }
        }
    }

    [Fact]
    public async Task Another_owner_keeps_running_while_one_owner_spins()
    {
        // A budget long enough that a loaded CI machine finishes the other owners' runs well inside it:
        // the property is that they do not wait for the spinner, not how fast they are.
        using var runtime = new ScriptRuntime(new ScriptRuntimeOptions { WorkerCount = 2, Limits = new ScriptLimits { RunTimeout = TimeSpan.FromSeconds(3) } });
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var spinnerHost = new RecordingHost().Answer(ScriptHostFunction.Log, _ => { started.TrySetResult(); return null; });
        var spinning = Stopwatch.StartNew();
        Task<ScriptRunResult> spinner = runtime.RunAsync("spinner", "spin@1", new ScriptSource("spin.js", "log('go'); while (true) {}"), "{}", spinnerHost);
        await started.Task;

        for (int i = 0; i < 50; i++)
        {
            ScriptRunResult result = await runtime.RunAsync($"other{i % 3}", "echo@1", Echo, $"{{\"n\": {i}}}", new RecordingHost());
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), result.ResultJson);
        }

        Assert.False(spinner.IsCompleted, $"the spinning script should still be running after {spinning.Elapsed}");
        Assert.Equal(ScriptRunStatus.TimedOut, (await spinner).Status);
        Assert.True(spinning.Elapsed >= TimeSpan.FromSeconds(2.9), $"{spinning.Elapsed}");
        Assert.Equal("7", (await runtime.RunAsync("spinner", "echo@1", Echo, "{\"n\": 7}", new RecordingHost())).ResultJson);
    }

    [Fact]
    public async Task An_idle_owners_heap_is_freed_and_an_active_owner_keeps_its_heap()
    {
        var clock = new ManualClock();
        using var runtime = new ScriptRuntime(new ScriptRuntimeOptions { WorkerCount = 2, IdleHeapLifetime = TimeSpan.FromMinutes(10), TimeProvider = clock });
        var count = new ScriptSource("count.js", "globalThis.counter = (globalThis.counter || 0) + 1; return counter;");
        Assert.Equal("1", (await runtime.RunAsync("idle", "count@1", count, "{}", new RecordingHost())).ResultJson);
        clock.Advance(TimeSpan.FromMinutes(8));
        Assert.Equal("1", (await runtime.RunAsync("active", "count@1", count, "{}", new RecordingHost())).ResultJson);
        Assert.Equal(2, runtime.OwnerCount);

        clock.Advance(TimeSpan.FromMinutes(3)); // idle for 11 minutes, active for 3: the sweep runs
        // The release is carried out by the owner's worker, which signals nothing a test can wait for (a run queued
        // behind it would bring the owner back): poll, with a deadline. A sweep skips an owner whose worker has not
        // yet finished its turn (on a loaded machine it may still be busy with the run the test already saw end), so
        // when nothing happens the clock moves on to the next sweep: up to two more, while "active" stays within
        // its 10 minutes (3 + 2 × 2.5).
        var releasing = Stopwatch.StartNew();
        int extraSweeps = 0;
        while (runtime.OwnerCount > 1 && releasing.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10);
            if (extraSweeps < 2 && releasing.Elapsed > TimeSpan.FromSeconds(1 + extraSweeps))
            {
                clock.Advance(TimeSpan.FromMinutes(2.5));
                extraSweeps++;
            }
        }
        Assert.Equal(1, runtime.OwnerCount);
        Assert.Equal("2", (await runtime.RunAsync("active", "count@1", count, "{}", new RecordingHost())).ResultJson);
        Assert.Equal("1", (await runtime.RunAsync("idle", "count@1", count, "{}", new RecordingHost())).ResultJson);
    }

    [Fact]
    public void An_idle_heap_lifetime_must_be_positive_or_infinite()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScriptRuntime(new ScriptRuntimeOptions { IdleHeapLifetime = TimeSpan.Zero }));
        using var forever = new ScriptRuntime(new ScriptRuntimeOptions { WorkerCount = 1, IdleHeapLifetime = Timeout.InfiniteTimeSpan });
    }

    [Fact]
    public async Task Worker_threads_give_scripts_the_full_call_depth()
    {
        ScriptRunResult result = await _runtime.RunAsync("deep", "deep@1", new ScriptSource("deep.js",
            "function f(d) { return d === 900 ? d : f(d + 1); } return f(0);"), "{}", new RecordingHost());
        Assert.Equal("900", result.ResultJson);
        ScriptRunResult tooDeep = await _runtime.RunAsync("deep", "deeper@1", new ScriptSource("deeper.js",
            "function f(d) { return [d + 1].map(f)[0]; } return f(0);"), "{}", new RecordingHost());
        Assert.Equal("RangeError: Maximum call stack size exceeded", tooDeep.Error!.Message);
    }

    [Fact]
    public async Task A_queued_run_that_is_canceled_never_runs()
    {
        var release = new SemaphoreSlim(0);
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = new RecordingHost().Answer(ScriptHostFunction.DbQuery, _ => { blocked.TrySetResult(); release.Wait(); return "[]"; });
        Task<ScriptRunResult> blocking = _runtime.RunAsync("a", "block@1", new ScriptSource("block.js", "db.query('wait'); return 1;"), "{}", host);
        using var cancel = new CancellationTokenSource();
        Task<ScriptRunResult> queued = _runtime.RunAsync("a", "echo@1", Echo, "{\"n\": 1}", host, cancel.Token);
        await blocked.Task.WaitAsync(TimeSpan.FromSeconds(10)); // The owner is busy: the second run waits in its queue.
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        release.Release();
        Assert.Equal("1", (await blocking).ResultJson);
        Assert.Empty(host.CallsOf(ScriptHostFunction.Log));
    }

    [Fact]
    public async Task Canceling_a_running_script_stops_it_and_the_owner_continues()
    {
        using var runtime = new ScriptRuntime(new ScriptRuntimeOptions { Limits = new ScriptLimits { RunTimeout = TimeSpan.FromSeconds(30) } });
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = new RecordingHost().Answer(ScriptHostFunction.Log, _ => { started.TrySetResult(); return null; });
        using var cancel = new CancellationTokenSource();
        Task<ScriptRunResult> spinning = runtime.RunAsync("a", "spin@1", new ScriptSource("spin.js", "globalThis.mark = 1; log('go'); while (true) {}"), "{}", host, cancel.Token);
        await started.Task;
        var stopwatch = Stopwatch.StartNew();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => spinning);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(3), $"{stopwatch.Elapsed}");
        ScriptRunResult next = await runtime.RunAsync("a", "check@1", new ScriptSource("check.js", "return typeof mark;"), "{}", host);
        Assert.Equal("\"undefined\"", next.ResultJson);
    }

    [Fact]
    public async Task An_already_canceled_token_cancels_at_once()
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _runtime.RunAsync("a", "echo@1", Echo, "{\"n\": 1}", new RecordingHost(), new CancellationToken(canceled: true)));
    }

    [Fact]
    public async Task Releasing_an_owner_frees_its_heap_after_its_queued_runs()
    {
        var host = new RecordingHost();
        var set = new ScriptSource("set.js", "globalThis.x = 5; return x;");
        var get = new ScriptSource("get.js", "return typeof x;");
        Task<ScriptRunResult> first = _runtime.RunAsync("a", "set@1", set, "{}", host);
        Task<ScriptRunResult> second = _runtime.RunAsync("a", "get@1", get, "{}", host);
        await _runtime.ReleaseOwnerAsync("a");
        Assert.Equal("5", (await first).ResultJson);
        Assert.Equal("\"number\"", (await second).ResultJson);
        Assert.Equal("\"undefined\"", (await _runtime.RunAsync("a", "get@1", get, "{}", host)).ResultJson);
    }

    [Fact]
    public async Task A_failing_host_is_reported_in_the_result()
    {
        var failure = new InvalidOperationException("database is locked");
        var host = new RecordingHost().Answer(ScriptHostFunction.DbExec, _ => throw failure);
        ScriptRunResult result = await _runtime.RunAsync("a", "w@1", new ScriptSource("w.js", "db.exec('INSERT');"), "{}", host);
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.Equal("Error: db.exec failed", result.Error!.Message);
        Assert.Same(failure, result.HostException);
    }

    [Fact]
    public async Task Disposing_stops_running_scripts_and_cancels_queued_runs()
    {
        var runtime = new ScriptRuntime(new ScriptRuntimeOptions
        {
            WorkerCount = 1,
            Limits = new ScriptLimits { RunTimeout = TimeSpan.FromSeconds(30) },
        });
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = new RecordingHost().Answer(ScriptHostFunction.Log, _ => { started.TrySetResult(); return null; });
        Task<ScriptRunResult> spinning = runtime.RunAsync("a", "spin@1", new ScriptSource("spin.js", "log('go'); while (true) {}"), "{}", host);
        Task<ScriptRunResult> queuedSameOwner = runtime.RunAsync("a", "echo@1", Echo, "{\"n\": 1}", host);
        Task<ScriptRunResult> queuedOtherOwner = runtime.RunAsync("b", "echo@1", Echo, "{\"n\": 2}", host);
        await started.Task;

        var stopwatch = Stopwatch.StartNew();
        runtime.Dispose();
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(1), $"{stopwatch.Elapsed}");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => spinning);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queuedSameOwner);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queuedOtherOwner);
        Assert.Throws<ObjectDisposedException>(() => { _ = runtime.RunAsync("a", "echo@1", Echo, "{}", host); });
        runtime.Dispose();
    }

    [Fact]
    public void Options_are_checked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScriptRuntime(new ScriptRuntimeOptions { WorkerCount = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ScriptRuntime(new ScriptRuntimeOptions { Limits = new ScriptLimits { RunTimeout = TimeSpan.Zero } }));
    }

    [Fact]
    public async Task Many_owners_and_runs_complete_with_their_own_results()
    {
        var results = new ConcurrentDictionary<string, string?>();
        var host = new RecordingHost();
        await Task.WhenAll(Enumerable.Range(0, 2000).Select(async i =>
        {
            ScriptRunResult result = await _runtime.RunAsync($"owner{i % 37}", "echo@1", Echo, $"{{\"n\": {i}}}", host);
            results[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = result.ResultJson;
        }));
        Assert.Equal(2000, results.Count);
        Assert.All(results, pair => Assert.Equal(pair.Key, pair.Value));
    }
}

using System.Diagnostics;

namespace IoTPE.Scripting.Tests;

/// <summary>Each limit ends the run with a clear error, the process stays up, and the heap runs the next script.</summary>
public class LimitTests
{
    private static readonly ScriptLimits ShortRuns = new() { RunTimeout = TimeSpan.FromMilliseconds(250) };

    private static void AssertNextRunWorks(ScriptHeap heap)
    {
        ScriptRunResult next = ScriptRunner.Run(heap, "return [1, 2, 3].map(function (x) { return x * 2; });");
        Assert.Equal("[2,4,6]", next.ResultJson);
    }

    [Fact]
    public void An_endless_loop_times_out_after_the_default_budget_of_one_second()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        ScriptRunResult result = ScriptRunner.Run(heap, "\n  while (true) {}");
        Assert.Equal(ScriptRunStatus.TimedOut, result.Status);
        Assert.InRange(result.Duration, TimeSpan.FromMilliseconds(990), TimeSpan.FromMilliseconds(2500)); // generous above: a loaded CI machine
        Assert.Equal("RangeError: execution timeout: the script ran longer than 1000 ms", result.Error!.Message);
        Assert.Equal(2, result.Error.Position!.Value.Line);
        Assert.True(heap.NeedsRebuild);
        AssertNextRunWorks(heap);
    }

    [Theory]
    [InlineData("while (true) { try { while (true) {} } catch (e) {} }")]
    [InlineData("try { while (true) {} } catch (e) { while (true) {} }")]
    [InlineData("try { while (true) {} } finally { for (;;) {} }")]
    [InlineData("function spin() { try { while (true) {} } catch (e) { return spin(); } } spin();")]
    [InlineData("try { while (true) {} } catch (e) {} return 'escaped';")]
    public void Catching_the_timeout_does_not_extend_the_run(string text)
    {
        using ScriptHeap heap = ScriptHeap.Create(ShortRuns);
        ScriptRunResult result = ScriptRunner.Run(heap, text);
        Assert.Equal(ScriptRunStatus.TimedOut, result.Status);
        Assert.Null(result.ResultJson);
        Assert.True(result.Duration < TimeSpan.FromSeconds(2), $"{result.Duration}");
        AssertNextRunWorks(heap);
    }

    [Theory]
    [InlineData("Array.prototype.join.call({ length: 4294967295 });")]
    [InlineData("Array.prototype.forEach.call({ length: 4294967295 }, function () {});")]
    [InlineData("var a = []; a.length = 4294967295; a.reverse();")]
    [InlineData("var a = []; a.length = 100000000; a.sort();")]
    [InlineData("/(a+)+b/.test('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');")]
    [InlineData("var s = new Array(4000001).join('x'); while (true) { var t = s + 'y'; }")]
    [InlineData("var s = new Array(3000001).join('x'); while (true) s.toUpperCase();")]
    [InlineData("var o = []; for (var i = 0; i < 100000; i++) o.push({ a: i }); while (true) JSON.stringify(o);")]
    [InlineData("var s = new Array(4000001).join('x'); var t = s + 'y', u = s + 'z'; while (true) t < u;")]
    public void Loops_inside_built_ins_end_with_the_time_budget_too(string text)
    {
        using ScriptHeap heap = ScriptHeap.Create(ShortRuns);
        ScriptRunResult result = ScriptRunner.Run(heap, text);
        Assert.Contains(result.Status, new[] { ScriptRunStatus.TimedOut, ScriptRunStatus.OutOfMemory });
        Assert.True(result.Duration < TimeSpan.FromSeconds(2), $"{result.Duration}");
        AssertNextRunWorks(heap);
    }

    // A naive search of these is quadratic (Duktape's was: it needed the time budget); Jint's ends
    // on its own. Either is fine, as long as the run cannot outlast its budget.
    [Theory]
    [InlineData("var s = new Array(2000001).join('a'); s.indexOf(new Array(1000001).join('a') + 'b');")]
    [InlineData("var s = new Array(2000001).join('a'); s.split(new Array(1000001).join('a') + 'b');")]
    public void Searching_huge_strings_ends_within_the_time_budget(string text)
    {
        using ScriptHeap heap = ScriptHeap.Create(ShortRuns);
        ScriptRunResult result = ScriptRunner.Run(heap, text);
        Assert.True(result.Duration < TimeSpan.FromSeconds(2), $"{result.Duration}");
        AssertNextRunWorks(heap);
    }

    [Fact]
    public void Concatenating_a_sparse_array_of_huge_length_is_refused_at_once()
    {
        using ScriptHeap heap = ScriptHeap.Create(ShortRuns);
        ScriptRunResult result = ScriptRunner.Run(heap,
            "var a = []; a[4294967294] = 1;\ntry { [].concat(a); } catch (e) { return [String(e), [1].concat([2], 3)]; }");
        Assert.Equal("""["RangeError: Invalid array length",[1,2,3]]""", result.ResultJson);
    }

    /// <summary>Catastrophic backtracking: one match may take a quarter of the run's budget, so it ends within the budget.</summary>
    [Theory]
    [InlineData("return /(a+)+$/.test('a'.repeat(40) + 'b');")]
    [InlineData("return new RegExp('(x+x+)+y').exec('x'.repeat(50));")]
    public void Regex_catastrophic_backtracking_stops_within_the_run_budget(string text)
    {
        using ScriptHeap heap = ScriptHeap.Create();
        ScriptRunResult result = ScriptRunner.Run(heap, text);
        Assert.Equal(ScriptRunStatus.TimedOut, result.Status);
        Assert.Equal("RangeError: execution timeout: a regular expression ran longer than 250 ms", result.Error!.Message);
        Assert.True(result.Duration < TimeSpan.FromSeconds(1), $"{result.Duration}");
        AssertNextRunWorks(heap);
    }

    [Theory]
    [InlineData("var a = []; while (true) a.push('x'.repeat(1e6) + a.length);")]
    [InlineData("var s = 'x'; while (true) s += s;")]
    public void Allocating_past_the_memory_budget_ends_the_run_with_out_of_memory(string text)
    {
        using ScriptHeap heap = ScriptHeap.Create();
        ScriptRunResult result = ScriptRunner.Run(heap, text);
        Assert.Equal(ScriptRunStatus.OutOfMemory, result.Status);
        Assert.Equal("RangeError: out of memory: the script holds more than its limit of 16777216 bytes", result.Error!.Message);
        Assert.True(heap.NeedsRebuild);
        AssertNextRunWorks(heap);
    }

    [Theory]
    [InlineData("const t = Date.now(); let n = 0; while (Date.now() - t < 400) { n += Math.random() * 0.5; } return n > 0;")]
    [InlineData("let s = ''; for (let i = 0; i < 200000; i++) { s = `${i}:${i * 0.5}`; } return s.length > 0;")]
    public void Garbage_does_not_count_against_the_memory_budget_only_what_the_run_holds(string text)
    {
        // Each pass allocates (non-cached numbers, strings): hundreds of MB over the run, none kept.
        // The time limit is not what this test is about: a loaded machine must not time it out.
        using ScriptHeap heap = ScriptHeap.Create(new ScriptLimits { RunTimeout = TimeSpan.FromSeconds(30) });
        ScriptRunResult result = ScriptRunner.Run(heap, text);
        Assert.Equal(ScriptRunStatus.Completed, result.Status);
        Assert.Equal("true", result.ResultJson);
    }

    [Fact]
    public void A_script_that_keeps_retrying_after_out_of_memory_still_ends()
    {
        using ScriptHeap heap = ScriptHeap.Create(ShortRuns);
        ScriptRunResult result = ScriptRunner.Run(heap, "var a = []; while (true) { try { a.push(new Array(1e5)); } catch (e) {} }");
        Assert.Contains(result.Status, new[] { ScriptRunStatus.TimedOut, ScriptRunStatus.OutOfMemory });
        Assert.True(heap.NeedsRebuild);
        AssertNextRunWorks(heap);
    }

    [Fact]
    public void The_memory_budget_is_per_run()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        for (int i = 0; i < 5; i++)
        {
            ScriptRunResult result = ScriptRunner.Run(heap, "var a = []; for (var i = 0; i < 60; i++) a.push(new Array(10000).fill(i)); return a.length;");
            Assert.True(result.Completed, $"{result.Status}: {result.Error}");
            Assert.True(result.AllocatedBytes > 4_000_000, $"allocated {result.AllocatedBytes}");
        }
        Assert.False(heap.NeedsRebuild);
    }

    [Fact]
    public void An_async_script_cannot_get_a_fresh_memory_budget_per_promise_job()
    {
        // A memory test: the run's time budget must not end it first on a loaded machine (it did in CI).
        using ScriptHeap heap = ScriptHeap.Create(new ScriptLimits { RunTimeout = TimeSpan.FromSeconds(30) });
        ScriptRunResult result = ScriptRunner.Run(heap, "const keep = []; while (true) { await null; keep.push(new Array(100000).fill(1)); }");
        Assert.Equal(ScriptRunStatus.OutOfMemory, result.Status);
        AssertNextRunWorks(heap);
    }

    [Fact]
    public void Global_state_is_bounded_by_renewing_the_engine_after_four_budgets_of_allocation()
    {
        using ScriptHeap heap = ScriptHeap.Create(new ScriptLimits { MemoryLimitBytes = 1024 * 1024 });
        Assert.Null(heap.Load("hoard@1", new ScriptSource("hoard", "globalThis.hoard = (globalThis.hoard || 0) + 1; new Array(20000).fill(0); return hoard;")));
        var counts = new List<int>();
        for (int i = 0; i < 80; i++)
        {
            counts.Add(int.Parse(heap.Run("hoard@1", "{}", new RecordingHost()).ResultJson!, System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.Equal(1, counts[0]);
        Assert.True(counts.Skip(1).Contains(1) && counts.Max() < 80, string.Join(",", counts)); // renewed: the global started again
    }

    [Theory]
    [InlineData("function f() { return f() + 1; } f();", "RangeError")]
    [InlineData("const f = () => f(); f();", "RangeError")]
    [InlineData("function f() { return [1].map(f); } f();", "RangeError")]
    [InlineData("var o = { toString: function () { return String(o); } }; String(o);", "RangeError")]
    [InlineData("var o = {}; Object.defineProperty(o, 'x', { get: function () { return o.x; } }); o.x;", "RangeError")]
    [InlineData("var p = new Proxy({}, { get: function (t, k) { return p[k]; } }); p.x;", "RangeError")]
    [InlineData("JSON.parse(new Array(100000).join('[') + new Array(100000).join(']'));", "SyntaxError")]
    [InlineData("var o = {}; for (var i = 0; i < 100000; i++) o = { o: o }; JSON.stringify(o);", "RangeError")]
    [InlineData("eval(new Array(100000).join('(') + '1' + new Array(100000).join(')'));", "RangeError")]
    public void Deep_recursion_is_an_error_not_a_crash(string text, string errorType)
    {
        using ScriptHeap heap = ScriptHeap.Create();
        ScriptRunResult result = ScriptRunner.Run(heap, text);
        Assert.True(result.Status is ScriptRunStatus.Threw, $"{result.Status}: {result.Error}");
        Assert.StartsWith(errorType, result.Error!.Message, StringComparison.Ordinal);
        AssertNextRunWorks(heap);
    }

    [Fact]
    public void A_failed_run_never_poisons_the_next_run()
    {
        using ScriptHeap heap = ScriptHeap.Create(ShortRuns);
        string[] failures =
        [
            "Object.prototype.poison = 1; Array.prototype.push = null; while (true) {}",
            "Object.prototype.poison = 1; Array.prototype.push = null; function f() { return f(); } f();",
            "Object.prototype.poison = 1; Array.prototype.push = null; const a = []; while (true) a[a.length] = new Array(1e5);",
        ];
        foreach (string failure in failures)
        {
            ScriptRunResult failed = ScriptRunner.Run(heap, failure);
            Assert.False(failed.Completed);
            Assert.True(heap.NeedsRebuild, failure);
            ScriptRunResult next = ScriptRunner.Run(heap, "const a = []; a.push(1); return [a, typeof ({}).poison];");
            Assert.Equal("""[[1],"undefined"]""", next.ResultJson);
        }
    }

    [Theory]
    [InlineData('(', ')')]
    [InlineData('[', ']')]
    [InlineData('{', '}')]
    public void Deeply_nested_source_is_a_syntax_error_at_load(char open, char close)
    {
        string nested = open == '{' ? new string('{', 100_000) + new string('}', 100_000) : "return " + new string(open, 100_000) + "1" + new string(close, 100_000) + ";";
        using ScriptHeap heap = ScriptHeap.Create();
        ScriptError? error = heap.Load("deep@1", new ScriptSource("deep.js", nested));
        Assert.NotNull(error);
        Assert.Equal("SyntaxError: source nested too deeply", error.Message);
        AssertNextRunWorks(heap);
    }

    [Fact]
    public void Deeply_nested_functions_are_syntax_errors_at_load()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        string functions = string.Concat(Enumerable.Repeat("(function () {", 20_000)) + string.Concat(Enumerable.Repeat("})", 20_000));
        Assert.StartsWith("SyntaxError", heap.Load("f@1", new ScriptSource("f.js", functions))!.Message, StringComparison.Ordinal);
        AssertNextRunWorks(heap);
    }

    /// <summary>
    /// The engine stops recursing before the calling thread's native stack runs out, however small
    /// that stack is (Jint's stack guard), instead of crashing the process.
    /// </summary>
    [Fact]
    public void Native_recursion_is_bounded_by_the_threads_own_stack_even_a_small_one()
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using ScriptHeap heap = ScriptHeap.Create();
                ScriptRunResult result = ScriptRunner.Run(heap, "function f(d) { return [d].map(x => f(x + 1)); } f(0);");
                Assert.Equal(ScriptRunStatus.Threw, result.Status);
                Assert.Equal("RangeError: Maximum call stack size exceeded", result.Error!.Message);
                ScriptError? error = heap.Load("deep@1", new ScriptSource("deep.js", "return " + new string('[', 100_000) + new string(']', 100_000) + ";"));
                Assert.Equal("SyntaxError: source nested too deeply", error?.Message);
                AssertNextRunWorks(heap);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, maxStackSize: 512 * 1024);
        thread.Start();
        thread.Join();
        Assert.Null(failure);
    }

    [Fact]
    public void A_publish_storm_stops_at_the_publish_limit()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        var host = new RecordingHost();
        ScriptRunResult result = ScriptRunner.Run(heap, "for (var i = 0; i < 100000; i++) {\n  publish('/acme/storm', String(i));\n}", host: host);
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.Equal("RangeError: publish limit reached: at most 100 publishes per run", result.Error!.Message);
        Assert.Equal(2, result.Error.Position!.Value.Line);
        Assert.Equal(100, host.CallsOf(ScriptHostFunction.Publish).Length);

        var next = new RecordingHost();
        Assert.True(ScriptRunner.Run(heap, "for (var i = 0; i < 100; i++) publish('/acme/ok', 'x');", host: next).Completed);
        Assert.Equal(100, next.Calls.Count);
    }

    [Fact]
    public void The_publish_limit_is_configurable_and_catching_it_does_not_reset_it()
    {
        using ScriptHeap heap = ScriptHeap.Create(new ScriptLimits { MaxPublishesPerRun = 3 });
        var host = new RecordingHost();
        ScriptRunResult result = ScriptRunner.Run(heap,
            "var refused = 0; for (var i = 0; i < 10; i++) { try { publish('t', 'x'); } catch (e) { refused++; } } return refused;", host: host);
        Assert.Equal("7", result.ResultJson);
        Assert.Equal(3, host.Calls.Count);
    }

    [Fact]
    public void Host_calls_of_all_kinds_are_limited_per_run()
    {
        using ScriptHeap heap = ScriptHeap.Create(new ScriptLimits { MaxHostCallsPerRun = 50 });
        var host = new RecordingHost();
        ScriptRunResult result = ScriptRunner.Run(heap, "for (var i = 0; ; i++) { i % 2 ? log(i) : kv.get('k' + i); }", host: host);
        Assert.Equal("RangeError: host call limit reached: at most 50 calls of publish, db, kv and log per run", result.Error!.Message);
        Assert.Equal(50, host.Calls.Count);
    }

    [Fact]
    public void Host_call_arguments_over_the_size_limit_are_refused_before_the_host_sees_them()
    {
        using ScriptHeap heap = ScriptHeap.Create(new ScriptLimits { MaxHostCallBytes = 1024 });
        var host = new RecordingHost();
        ScriptRunResult result = ScriptRunner.Run(heap, "publish('t', new Array(1000).join('x')); publish('t', new Array(2000).join('x'));", host: host);
        Assert.Equal("RangeError: publish: arguments too large: 2015 bytes as JSON, the limit is 1024", result.Error!.Message);
        Assert.Single(host.Calls);
    }

    [Fact]
    public void A_slow_host_call_counts_against_the_time_budget()
    {
        using ScriptHeap heap = ScriptHeap.Create(ShortRuns);
        var host = new RecordingHost().Answer(ScriptHostFunction.DbQuery, _ => { Thread.Sleep(400); return "[]"; });
        var stopwatch = Stopwatch.StartNew();
        ScriptRunResult result = ScriptRunner.Run(heap, "db.query('SELECT 1'); for (var i = 0; i < 1e9; i++) {}", host: host);
        Assert.Equal(ScriptRunStatus.TimedOut, result.Status);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(1), $"{stopwatch.Elapsed}");
    }
}

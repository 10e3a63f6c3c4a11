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
    [InlineData("Array.prototype.indexOf.call({ length: 2147483647 }, 1);")]
    [InlineData("var a = []; a.length = 4294967295; a.reverse();")]
    [InlineData("var a = []; a.length = 100000000; a.sort();")]
    [InlineData("var a = []; a[4294967294] = 1; [].concat(a);")]
    [InlineData("/(a+)+b/.test('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');")]
    [InlineData("var s = new Array(2000001).join('a'); s.indexOf(new Array(1000001).join('a') + 'b');")]
    [InlineData("var s = new Array(2000001).join('a'); s.split(new Array(1000001).join('a') + 'b');")]
    [InlineData("var s = new Array(4000001).join('x'); while (true) { var t = s + 'y'; }")]
    [InlineData("var s = new Array(3000001).join('x'); while (true) s.toUpperCase();")]
    [InlineData("var o = []; for (var i = 0; i < 100000; i++) o.push({ a: i }); while (true) JSON.stringify(o);")]
    [InlineData("var s = new Array(4000001).join('x'); var t = s + 'y', u = s + 'z'; while (true) t < u;")]
    public void Loops_inside_built_ins_end_with_the_time_budget_too(string text)
    {
        using ScriptHeap heap = ScriptHeap.Create(ShortRuns);
        ScriptRunResult result = ScriptRunner.Run(heap, text);
        Assert.Equal(ScriptRunStatus.TimedOut, result.Status);
        Assert.True(result.Duration < TimeSpan.FromSeconds(2), $"{result.Duration}");
        AssertNextRunWorks(heap);
    }

    [Theory]
    [InlineData("var a = []; while (true) a.push(new Array(1e5));")]
    [InlineData("var s = 'x'; while (true) s += s;")]
    [InlineData("var s = 'x'.repeat(1 << 28);")]
    public void Allocating_past_the_memory_cap_ends_the_run_with_out_of_memory(string text)
    {
        using ScriptHeap heap = ScriptHeap.Create();
        ScriptRunResult result = ScriptRunner.Run(heap, text);
        Assert.Equal(ScriptRunStatus.OutOfMemory, result.Status);
        Assert.Equal("RangeError: out of memory: the script's heap reached its limit of 16777216 bytes", result.Error!.Message);
        Assert.True(heap.NeedsRebuild);
        AssertNextRunWorks(heap);
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
    public void Memory_a_run_frees_is_available_again()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        for (int i = 0; i < 5; i++)
        {
            ScriptRunResult result = ScriptRunner.Run(heap, "var x = new Array(100001).join('x'); var a = []; for (var i = 0; i < 60; i++) a.push(x + i); return a.length;");
            Assert.True(result.Completed, $"{result.Status}: {result.Error}");
            Assert.Equal("60", result.ResultJson);
            Assert.True(result.AllocatedBytes > 6_000_000, $"allocated {result.AllocatedBytes}");
        }
        Assert.False(heap.NeedsRebuild);
    }

    [Theory]
    [InlineData("function f() { return f() + 1; } f();", "RangeError")]
    [InlineData("function f() { return [1].map(f); } f();", "RangeError")]
    [InlineData("var o = { toString: function () { return String(o); } }; String(o);", "RangeError")]
    [InlineData("var o = {}; Object.defineProperty(o, 'x', { get: function () { return o.x; } }); o.x;", "RangeError")]
    [InlineData("var p = new Proxy({}, { get: function (t, k) { return p[k]; } }); p.x;", "RangeError")]
    [InlineData("JSON.parse(new Array(100000).join('[') + new Array(100000).join(']'));", "RangeError")]
    [InlineData("var o = {}; for (var i = 0; i < 100000; i++) o = { o: o }; JSON.stringify(o);", "RangeError")]
    [InlineData("eval(new Array(100000).join('(') + '1' + new Array(100000).join(')'));", "SyntaxError")]
    [InlineData("new RegExp(new Array(100000).join('(') + new Array(100000).join(')'));", "SyntaxError")]
    [InlineData("/(a*)*b/.exec(new Array(100000).join('a'));", "RangeError")]
    public void Deep_recursion_is_an_error_not_a_crash(string text, string errorType)
    {
        using ScriptHeap heap = ScriptHeap.Create();
        ScriptRunResult result = ScriptRunner.Run(heap, text);
        Assert.True(result.Status is ScriptRunStatus.Threw, $"{result.Status}: {result.Error}");
        Assert.StartsWith(errorType, result.Error!.Message, StringComparison.Ordinal);
        AssertNextRunWorks(heap);
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
        Assert.Equal(1, error.Position!.Value.Line);
        Assert.NotNull(error.Position.Value.Column);
        AssertNextRunWorks(heap);
    }

    [Fact]
    public void Deeply_nested_functions_and_regular_expressions_are_syntax_errors_at_load()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        string functions = string.Concat(Enumerable.Repeat("(function () {", 20_000)) + string.Concat(Enumerable.Repeat("})", 20_000));
        Assert.StartsWith("SyntaxError", heap.Load("f@1", new ScriptSource("f.js", functions))!.Message, StringComparison.Ordinal);
        string regexp = "return /" + new string('(', 100_000) + new string(')', 100_000) + "/;";
        Assert.StartsWith("SyntaxError", heap.Load("r@1", new ScriptSource("r.js", regexp))!.Message, StringComparison.Ordinal);
        AssertNextRunWorks(heap);
    }

    /// <summary>
    /// The engine stops recursing before the calling thread's native stack runs out, however small
    /// that stack is, and host calls made close to that point (while unwinding) still have room.
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
                var host = new RecordingHost();
                ScriptRunResult result = ScriptRunner.Run(heap,
                    "var logged = 0;\n" +
                    "function f(d) { try { return [d].map(function (x) { return f(x + 1); }); }\n" +
                    "  catch (e) { try { log('unwinding ' + d); logged++; } catch (tooDeep) {} throw e; } }\n" +
                    "try { f(0); } catch (e) { return [String(e), logged]; }", host: host);
                Assert.True(result.Completed, result.Error?.ToString());
                Assert.StartsWith("[\"RangeError: C stack depth limit\",", result.ResultJson, StringComparison.Ordinal);
                Assert.NotEmpty(host.Calls);
                Assert.EndsWith($",{host.Calls.Count}]", result.ResultJson, StringComparison.Ordinal);

                ScriptError? error = heap.Load("deep@1", new ScriptSource("deep.js", "return " + new string('[', 100_000) + new string(']', 100_000) + ";"));
                Assert.Equal("SyntaxError: source nested too deeply", error?.Message);
                Assert.StartsWith("RangeError", ScriptRunner.Run(heap, "JSON.parse(new Array(100000).join('[') + new Array(100000).join(']'));").Error!.Message, StringComparison.Ordinal);
                Assert.StartsWith("SyntaxError", ScriptRunner.Run(heap, "new RegExp(new Array(100000).join('(') + new Array(100000).join(')'));").Error!.Message, StringComparison.Ordinal);
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

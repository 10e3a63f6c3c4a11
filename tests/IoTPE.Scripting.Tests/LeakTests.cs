namespace IoTPE.Scripting.Tests;

/// <summary>Runs leave nothing behind: a heap's memory returns to where it was.</summary>
public class LeakTests
{
    private const string BusyScript =
        "var o = { list: [], text: '' };\n" +
        "for (var i = 0; i < 50; i++) { o.list.push({ i: i, s: 'item ' + i + message.n }); o.text += i; }\n" +
        "var cyclic = {}; cyclic.self = cyclic;\n" +
        "var f = function () { return o; };\n" +
        "try { null.x; } catch (e) { o.error = String(e); }\n" +
        "publish('/t/' + message.n, o.list.slice(0, 3), { qos: 1 }); log('run', message.n); kv.get('k');\n" +
        "var rows = db.query('SELECT 1', [message.n]);\n" +
        "if (message.n % 7 === 0) throw new Error('every seventh run fails');\n" +
        "return { n: message.n, rows: rows.length, text: o.text.length };";

    [Fact]
    public void Many_runs_return_the_heap_to_its_baseline()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        var host = new RecordingHost()
            .Answer(ScriptHostFunction.DbQuery, _ => "[{\"a\":1},{\"a\":2}]")
            .Answer(ScriptHostFunction.KvGet, _ => "{\"stored\":[1,2,3]}");
        Assert.Null(heap.Load("busy@1", new ScriptSource("busy.js", BusyScript)));

        for (int n = 1; n <= 200; n++)
        {
            heap.Run("busy@1", $"{{\"n\": {n}}}", host);
        }
        heap.CollectGarbage();
        long baseline = heap.MemoryUsed;

        int threw = 0;
        for (int n = 1; n <= 5000; n++)
        {
            ScriptRunResult result = heap.Run("busy@1", $"{{\"n\": {n}}}", host);
            threw += result.Status == ScriptRunStatus.Threw ? 1 : 0;
            Assert.True(result.Status is ScriptRunStatus.Completed or ScriptRunStatus.Threw, $"{result.Status}: {result.Error}");
        }
        heap.CollectGarbage();

        // Duktape's string table grows and shrinks with some hysteresis (measured: up to +24 KiB);
        // a leak of even one small object per run would add 200 KiB or more over 5,000 runs.
        Assert.Equal(5000 / 7, threw);
        Assert.InRange(heap.MemoryUsed, baseline - 32 * 1024, baseline + 32 * 1024);
        Assert.False(heap.NeedsRebuild);
    }

    [Fact]
    public void Loading_and_unloading_returns_the_heap_to_its_baseline()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        heap.CollectGarbage();
        long baseline = heap.MemoryUsed;
        for (int i = 0; i < 500; i++)
        {
            Assert.Null(heap.Load($"s@{i}", new ScriptSource("s", $"var x = {i}; return function () {{ return x; }};")));
            Assert.NotNull(heap.Load($"bad@{i}", new ScriptSource("bad", "var = " + i)));
            heap.Unload($"s@{i}");
        }
        heap.CollectGarbage();
        Assert.InRange(heap.MemoryUsed, baseline - 4096, baseline + 4096);
    }

    [Fact]
    public void Heaps_can_be_created_and_disposed_many_times()
    {
        for (int i = 0; i < 300; i++)
        {
            using ScriptHeap heap = ScriptHeap.Create();
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), ScriptRunner.Run(heap, "return message.i;", $"{{\"i\": {i}}}").ResultJson);
        }
    }
}

using System.Text.Json;

namespace IoTPE.Scripting.Tests;

/// <summary>The script-visible API, one host function at a time: what the host receives and what the script gets back.</summary>
public class ScriptApiTests
{
    private static (ScriptRunResult Result, RecordingHost Host) Run(string text, RecordingHost? host = null)
    {
        host ??= new RecordingHost();
        return (ScriptRunner.Run(text, host: host), host);
    }

    private static string Arguments(RecordingHost host, string function) => Assert.Single(host.CallsOf(function)).Arguments;

    [Theory]
    [InlineData("publish('/acme/out', 'hello');", """["/acme/out","hello",0,false]""")]
    [InlineData("publish('/acme/out', { t: 21.5, ok: true });", """["/acme/out","{\"t\":21.5,\"ok\":true}",0,false]""")]
    [InlineData("publish('/acme/out', [1, 2]);", """["/acme/out","[1,2]",0,false]""")]
    [InlineData("publish('/acme/out', 42);", """["/acme/out","42",0,false]""")]
    [InlineData("publish('/acme/out', null);", """["/acme/out","null",0,false]""")]
    [InlineData("publish('/acme/out', '');", """["/acme/out","",0,false]""")]
    [InlineData("publish('/acme/out', 'x', { qos: 1 });", """["/acme/out","x",1,false]""")]
    [InlineData("publish('/acme/out', 'x', { qos: 2, retain: true });", """["/acme/out","x",2,true]""")]
    [InlineData("publish('/acme/out', 'x', { retain: false, qos: undefined });", """["/acme/out","x",0,false]""")]
    [InlineData("publish('/acme/out', 'x', null);", """["/acme/out","x",0,false]""")]
    public void Publish_sends_topic_payload_qos_and_retain(string text, string arguments)
    {
        (ScriptRunResult result, RecordingHost host) = Run(text);
        Assert.True(result.Completed, result.Error?.ToString());
        Assert.Equal(arguments, Arguments(host, ScriptHostFunction.Publish));
    }

    [Theory]
    [InlineData("publish();", "publish: topic must be a non-empty string, not undefined")]
    [InlineData("publish('', 'x');", "publish: topic must be a non-empty string, not an empty string")]
    [InlineData("publish(['a'], 'x');", "publish: topic must be a non-empty string, not an array")]
    [InlineData("publish('t');", "publish: payload must be a string or a JSON-serializable value, not undefined")]
    [InlineData("publish('t', function () {});", "publish: payload must be a string or a JSON-serializable value, not function")]
    [InlineData("publish('t', 'x', 1);", "publish: options must be an object like {qos: 1, retain: true}, not number")]
    [InlineData("publish('t', 'x', { qos: 3 });", "publish: options.qos must be 0, 1 or 2")]
    [InlineData("publish('t', 'x', { qos: '1' });", "publish: options.qos must be 0, 1 or 2")]
    [InlineData("publish('t', 'x', { retain: 'yes' });", "publish: options.retain must be true or false")]
    [InlineData("publish('t', 'x', { retained: true });", "publish: unknown option \"retained\" (the options are qos and retain)")]
    public void Publish_rejects_bad_arguments_with_a_TypeError_and_no_host_call(string text, string message)
    {
        (ScriptRunResult result, RecordingHost host) = Run(text);
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.Equal("TypeError: " + message, result.Error!.Message);
        Assert.Empty(host.Calls);
    }

    [Fact]
    public void Publish_payload_errors_from_JSON_stringify_reach_the_script()
    {
        (ScriptRunResult result, RecordingHost host) = Run("var a = {}; a.a = a; publish('t', a);");
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.StartsWith("TypeError", result.Error!.Message, StringComparison.Ordinal);
        Assert.Empty(host.Calls);
    }

    [Fact]
    public void Db_query_sends_sql_and_parameters_and_returns_the_rows()
    {
        var host = new RecordingHost().Answer(ScriptHostFunction.DbQuery, _ => """[{"id":1,"name":"a"},{"id":2,"name":null}]""");
        (ScriptRunResult result, _) = Run(
            "var rows = db.query('SELECT id, name FROM t WHERE id > ? AND name <> ?', [0, 'x']);\n" +
            "return { count: rows.length, second: rows[1].name, isArray: Array.isArray(rows) };", host);
        Assert.Equal("""{"count":2,"second":null,"isArray":true}""", result.ResultJson);
        Assert.Equal("""["SELECT id, name FROM t WHERE id > ? AND name <> ?",[0,"x"]]""", Arguments(host, ScriptHostFunction.DbQuery));
    }

    [Theory]
    [InlineData("db.query('SELECT 1');", """["SELECT 1",[]]""")]
    [InlineData("db.query('SELECT 1', null);", """["SELECT 1",[]]""")]
    [InlineData("db.query('SELECT :a, @b', { a: 1, b: true });", """["SELECT :a, @b",{"a":1,"b":true}]""")]
    [InlineData("db.query('SELECT ?', [null]);", """["SELECT ?",[null]]""")]
    public void Db_parameters_are_positional_named_or_absent(string text, string arguments)
    {
        (ScriptRunResult result, RecordingHost host) = Run(text);
        Assert.True(result.Completed, result.Error?.ToString());
        Assert.Equal(arguments, Arguments(host, ScriptHostFunction.DbQuery));
    }

    [Fact]
    public void Db_exec_returns_changes_and_last_insert_rowid()
    {
        var host = new RecordingHost().Answer(ScriptHostFunction.DbExec, _ => """{"changes":1,"lastInsertRowid":7}""");
        (ScriptRunResult result, _) = Run("var r = db.exec('INSERT INTO t (v) VALUES (?)', [3.5]); return r.lastInsertRowid * 10 + r.changes;", host);
        Assert.Equal("71", result.ResultJson);
        Assert.Equal("""["INSERT INTO t (v) VALUES (?)",[3.5]]""", Arguments(host, ScriptHostFunction.DbExec));
    }

    [Theory]
    [InlineData("db.query();", "db.query: sql must be a non-empty string, not undefined")]
    [InlineData("db.exec(42);", "db.exec: sql must be a non-empty string, not number")]
    [InlineData("db.query('SELECT ?', 5);", "db.query: params must be an array (for ? parameters) or an object (for :name parameters), not number")]
    [InlineData("db.query('SELECT ?', [{ a: 1 }]);", "db.query: parameter 1 must be null, a boolean, a number or a string, not object")]
    [InlineData("db.exec('SELECT ?, ?', [1, [2]]);", "db.exec: parameter 2 must be null, a boolean, a number or a string, not an array")]
    [InlineData("db.exec('SELECT :a', { a: undefined });", "db.exec: parameter \"a\" must be null, a boolean, a number or a string, not undefined")]
    public void Db_rejects_bad_arguments_with_a_TypeError(string text, string message)
    {
        (ScriptRunResult result, RecordingHost host) = Run(text);
        Assert.Equal("TypeError: " + message, result.Error!.Message);
        Assert.Empty(host.Calls);
    }

    [Fact]
    public void Kv_get_set_and_remove_reach_the_host()
    {
        var store = new Dictionary<string, string>();
        var host = new RecordingHost()
            .Answer(ScriptHostFunction.KvSet, a => { store[a[0].GetString()!] = a[1].GetRawText(); return null; })
            .Answer(ScriptHostFunction.KvGet, a => store.GetValueOrDefault(a[0].GetString()!))
            .Answer(ScriptHostFunction.KvRemove, a => store.Remove(a[0].GetString()!) ? "true" : "false");
        (ScriptRunResult result, _) = Run(
            "kv.set('count', { n: 1, list: [1, 'a'] });\n" +
            "var before = kv.get('count');\n" +
            "var removed = kv.remove('count');\n" +
            "return { before: before, after: kv.get('count') === undefined, removed: removed, again: kv.remove('count') };", host);
        Assert.Equal("""{"before":{"n":1,"list":[1,"a"]},"after":true,"removed":true,"again":false}""", result.ResultJson);
        Assert.Equal("""["count",{"n":1,"list":[1,"a"]}]""", Arguments(host, ScriptHostFunction.KvSet));
        Assert.Equal(["""["count"]""", """["count"]"""], host.CallsOf(ScriptHostFunction.KvGet).Select(c => c.Arguments));
    }

    [Fact]
    public void Deeply_nested_values_reach_the_host()
    {
        (ScriptRunResult result, RecordingHost host) = Run("var v = 1; for (var i = 0; i < 500; i++) v = [v]; kv.set('deep', v);");
        Assert.True(result.Completed, result.Error?.ToString());
        string arguments = Arguments(host, ScriptHostFunction.KvSet);
        Assert.StartsWith("[\"deep\",[[[", arguments, StringComparison.Ordinal);
        Assert.Equal(1 + 500, arguments.Count(c => c == '[')); // the arguments array, then the value
        Assert.Equal(1 + 500, arguments.Count(c => c == ']'));
    }

    [Theory]
    [InlineData("kv.get();", "kv.get: key must be a non-empty string, not undefined")]
    [InlineData("kv.set('', 1);", "kv.set: key must be a non-empty string, not an empty string")]
    [InlineData("kv.set('k');", "kv.set: value must be a JSON value (to delete a key, use kv.remove), not undefined")]
    [InlineData("kv.set('k', function () {});", "kv.set: value must be a JSON value (to delete a key, use kv.remove), not function")]
    [InlineData("kv.remove(null);", "kv.remove: key must be a non-empty string, not null")]
    public void Kv_rejects_bad_arguments_with_a_TypeError(string text, string message)
    {
        (ScriptRunResult result, RecordingHost host) = Run(text);
        Assert.Equal("TypeError: " + message, result.Error!.Message);
        Assert.Empty(host.Calls);
    }

    [Theory]
    [InlineData("log('a', 1, true, null, undefined);", "info", "a 1 true null undefined")]
    [InlineData("log({ a: [1, { b: 'c' }] }, [1, 2]);", "info", """{"a":[1,{"b":"c"}]} [1,2]""")]
    [InlineData("log(new TypeError('bad'));", "info", "TypeError: bad")]
    [InlineData("log(function named() {}, function () {});", "info", "[Function: named] [Function]")]
    [InlineData("var c = {}; c.c = c; log(c);", "info", "[object Object]")]
    [InlineData("log();", "info", "")]
    [InlineData("console.log('x');", "info", "x")]
    [InlineData("console.info('x', 2);", "info", "x 2")]
    [InlineData("console.warn('careful');", "warn", "careful")]
    [InlineData("console.error('broken', { code: 5 });", "error", """broken {"code":5}""")]
    [InlineData("console.debug('detail');", "debug", "detail")]
    public void Log_and_console_send_a_level_and_the_arguments_joined_like_console_log(string text, string level, string message)
    {
        (ScriptRunResult result, RecordingHost host) = Run(text);
        Assert.True(result.Completed, result.Error?.ToString());
        using JsonDocument arguments = JsonDocument.Parse(Arguments(host, ScriptHostFunction.Log));
        Assert.Equal(level, arguments.RootElement[0].GetString());
        Assert.Equal(message, arguments.RootElement[1].GetString());
        Assert.Equal(2, arguments.RootElement.GetArrayLength());
    }

    [Fact]
    public void Host_calls_happen_in_the_order_the_script_makes_them()
    {
        (_, RecordingHost host) = Run("log('1'); publish('t', '2'); kv.get('3'); db.exec('4'); console.warn('5');");
        Assert.Equal(
            [ScriptHostFunction.Log, ScriptHostFunction.Publish, ScriptHostFunction.KvGet, ScriptHostFunction.DbExec, ScriptHostFunction.Log],
            host.Calls.Select(c => c.Function));
    }

    [Fact]
    public void A_host_error_is_an_Error_the_script_can_catch()
    {
        var host = new RecordingHost().Answer(ScriptHostFunction.Publish, _ => throw new ScriptHostException("not authorized to publish to /other/x"));
        (ScriptRunResult result, _) = Run(
            "try { publish('/other/x', 'p'); } catch (e) { return [e instanceof Error, e.message]; }", host);
        Assert.Equal("""[true,"not authorized to publish to /other/x"]""", result.ResultJson);
        Assert.Null(result.HostException);
    }

    [Fact]
    public void An_uncaught_host_error_fails_the_run_at_the_scripts_line()
    {
        var host = new RecordingHost().Answer(ScriptHostFunction.DbQuery, _ => throw new ScriptHostException("no such table: missing"));
        (ScriptRunResult result, _) = Run("var x = 1;\nvar rows = db.query('SELECT * FROM missing');", host);
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.Equal("Error: no such table: missing", result.Error!.Message);
        Assert.Equal(new SourcePosition(2, 12), result.Error.Position);
    }

    [Fact]
    public void An_unexpected_host_exception_is_hidden_from_the_script_and_reported_to_the_caller()
    {
        var failure = new IOException("disk I/O error at /var/lib/iotpe/secret.db");
        var host = new RecordingHost().Answer(ScriptHostFunction.DbExec, _ => throw failure);
        (ScriptRunResult result, _) = Run("try { db.exec('INSERT 1'); } catch (e) { return e.message; }", host);
        Assert.Equal("\"db.exec failed\"", result.ResultJson);
        Assert.Same(failure, result.HostException);
    }

    [Fact]
    public void A_host_that_writes_an_incomplete_value_fails_the_call_not_the_process()
    {
        ScriptRunResult result = ScriptRunner.Run("try { kv.get('k'); return 'no error'; } catch (e) { return e.message; }", host: new IncompleteWriterHost());
        Assert.Equal("\"kv.get failed\"", result.ResultJson);
        Assert.IsType<InvalidOperationException>(result.HostException);
    }

    [Fact]
    public void The_API_cannot_be_replaced_for_the_scripts_that_run_later_in_the_same_heap()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        var host = new RecordingHost();
        ScriptRunResult vandal = ScriptRunner.Run(heap,
            "publish = function () {}; db.query = null; delete globalThis.kv; console.log = null; log.x = 1;\n" +
            "return [typeof publish, typeof db.query, typeof kv, typeof console.log, log.x];");
        Assert.Equal("""["function","function","object","function",null]""", vandal.ResultJson);
        ScriptRunResult strict = ScriptRunner.Run(heap, "'use strict'; publish = 1;");
        Assert.StartsWith("TypeError", strict.Error!.Message, StringComparison.Ordinal);
        Assert.Null(heap.Load("later@1", new ScriptSource("later", "publish('t', 'still works');")));
        Assert.True(heap.Run("later@1", "{}", host).Completed);
        Assert.Equal("""["t","still works",0,false]""", Arguments(host, ScriptHostFunction.Publish));
    }

    /// <summary>
    /// A toJSON that calls the API while its value is being encoded for another call: refused with a
    /// clear error (the calls used to interleave in one buffer, and the host got broken JSON).
    /// </summary>
    [Theory]
    [InlineData("kv.set('k', { toJSON() { kv.set('z', 1); return 2; } });", "kv.set cannot be called from a toJSON while another API call's value is being encoded")]
    [InlineData("publish('t', { toJSON() { publish('u', 'x'); return 1; } });", "publish cannot be called from a toJSON while another API call's value is being encoded")]
    public void A_toJSON_that_calls_the_API_during_encoding_is_refused(string text, string message)
    {
        using ScriptHeap heap = ScriptHeap.Create();
        var host = new RecordingHost();
        ScriptRunResult result = ScriptRunner.Run(heap, "try {\n" + text + "\n} catch (e) { return e.message; }", host: host);
        Assert.Equal("\"" + message + "\"", result.ResultJson);
        Assert.Empty(host.Calls);
        // Nothing is left half-encoded: the next run's calls go through whole.
        ScriptRunResult after = ScriptRunner.Run(heap, "kv.set('k', { toJSON() { return 3; } }); publish('t', { a: 1 });", host: host);
        Assert.True(after.Completed, after.Error?.ToString());
        Assert.Equal("""["k",3]""", Arguments(host, ScriptHostFunction.KvSet));
        Assert.Equal("""["t","{\"a\":1}",0,false]""", Arguments(host, ScriptHostFunction.Publish));
    }

    [Fact]
    public void Replacing_built_ins_does_not_change_what_the_API_sends()
    {
        (ScriptRunResult result, RecordingHost host) = Run(
            "JSON.stringify = function () { return 'hijacked'; }; Array.isArray = function () { return false; };\n" +
            "Object.keys = function () { return []; };\n" +
            "publish('t', { a: 1 }, { qos: 1 }); db.query('SELECT ?', [1]);");
        Assert.True(result.Completed, result.Error?.ToString());
        Assert.Equal("""["t","{\"a\":1}",1,false]""", Arguments(host, ScriptHostFunction.Publish));
        Assert.Equal("""["SELECT ?",[1]]""", Arguments(host, ScriptHostFunction.DbQuery));
    }

    private sealed class IncompleteWriterHost : IScriptHost
    {
        public void Invoke(string function, JsonElement arguments, Utf8JsonWriter result)
        {
            result.WriteStartObject();
            result.WritePropertyName("a");
        }
    }
}

using System.Text;

namespace IoTPE.Scripting.Tests;

public class ScriptRunTests
{
    [Theory]
    [InlineData("return 42;", "42")]
    [InlineData("return -1.5;", "-1.5")]
    [InlineData("return 'text';", "\"text\"")]
    [InlineData("return true;", "true")]
    [InlineData("return false;", "false")]
    [InlineData("return null;", "null")]
    [InlineData("return [1, 'a', null, [true]];", "[1,\"a\",null,[true]]")]
    [InlineData("return { a: 1, b: { c: [2] } };", "{\"a\":1,\"b\":{\"c\":[2]}}")]
    [InlineData("return 'quote \" and \\\\ and \\n';", "\"quote \\\" and \\\\ and \\n\"")]
    [InlineData("return NaN;", "null")]
    [InlineData("return new Date(0);", "\"1970-01-01T00:00:00.000Z\"")]
    [InlineData("return { toJSON: function () { return 'custom'; } };", "\"custom\"")]
    [InlineData("return [undefined, function () {}];", "[null,null]")]
    public void Return_values_of_every_JSON_type_come_back_as_JSON(string text, string json)
    {
        Assert.Equal(json, ScriptRunner.Result(text));
    }

    /// <summary>A message given as UTF-8 is read as JSON.parse reads it: key order, duplicates, __proto__, numbers beyond double, -0.</summary>
    [Fact]
    public void A_UTF8_message_is_the_value_JSON_parse_gives()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("m@1", new ScriptSource("m", """
            return [Object.keys(message), JSON.stringify(message), Object.getPrototypeOf(message) === Object.prototype,
              message.p, message.__proto__.p, 1 / message.n, message.big, Array.isArray(message.a), message.a[1].x === null,
              message.s.charCodeAt(0), message.s.length];
            """)));
        byte[] json = """{"b":1,"2":2,"a":[1,{"x":null}],"1":true,"big":1e400,"n":-0,"__proto__":{"p":1},"d":1,"d":2,"s":"\u00e9\ud83d\ude00"}"""u8.ToArray();
        ScriptRunResult result = heap.Run("m@1", json, new RecordingHost());
        Assert.True(result.Completed, result.Error?.ToString());
        Assert.Equal(
            """[["1","2","b","a","big","n","__proto__","d","s"],"{\"1\":true,\"2\":2,\"b\":1,\"a\":[1,{\"x\":null}],\"big\":null,\"n\":0,\"__proto__\":{\"p\":1},\"d\":2,\"s\":\"é😀\"}",true,null,1,null,null,true,true,233,3]""",
            result.ResultJson);

        // What System.Text.Json will not decode (a lone surrogate escape) is still read, by the engine's parser.
        Assert.Null(heap.Load("s@1", new ScriptSource("s", "return [message.length, message.charCodeAt(0)];")));
        Assert.Equal("[1,55296]", heap.Run("s@1", "\"\\ud800\""u8.ToArray(), new RecordingHost()).ResultJson);
    }

    /// <summary>
    /// Large strings, objects and arrays are decoded when first read (MessageReader.LazyValueBytes), and
    /// are then what JSON.parse gives: the same script over the same text, once with the message read
    /// by the heap and once with the text parsed by the engine, returns the same. Covers escapes, a lone
    /// surrogate escape deep in a deferred value (System.Text.Json will not decode it), duplicates whose
    /// first or last value is deferred, and a deferred property read back as a plain data property.
    /// </summary>
    [Fact]
    public void Large_message_values_read_on_first_use_are_what_JSON_parse_gives()
    {
        string pad = new('x', 40);
        string text = $$$"""
            {"s":"quote \" slash \\ tab \t \u00e9 \ud83d\ude00 {{{pad}}}","o":{"list":[1,"two",{"x":null,"y":"{{{pad}}}"}],"n":-0},
             "a":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15],"lone":{"deep":["{{{pad}}}\ud800{{{pad}}}"]},"short":"ab",
             "d":"{{{pad}}}","d":1,"e":1,"e":{"later":"{{{pad}}}"},"big":1e400,"o2":{}}
            """;
        const string Body = """
            var d = Object.getOwnPropertyDescriptor(message, 's');
            var seen = [Object.keys(message), JSON.stringify(message), message.s.length, message.s.charCodeAt(26),
              message.lone.deep[0].charCodeAt(40), message.lone.deep[0].length, message.o.list[2].y.length, 1 / message.o.n,
              Array.isArray(message.a), message.a.length, message.d, message.e.later.length, 'o2' in message,
              typeof d.get, d.writable, d.enumerable, d.configurable, d.value === message.s, message.o === message.o];
            message.s = 1; delete message.o;
            seen.push(message.s, 'o' in message, Object.keys(message).length);
            return seen;
            """;
        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("read@1", new ScriptSource("read", Body)));
        Assert.Null(heap.Load("parsed@1", new ScriptSource("parsed", "var message = JSON.parse(" + System.Text.Json.JsonSerializer.Serialize(text) + ");\n" + Body)));

        ScriptRunResult read = heap.Run("read@1", Encoding.UTF8.GetBytes(text), new RecordingHost());
        ScriptRunResult parsed = heap.Run("parsed@1", "null", new RecordingHost());

        Assert.True(read.Completed, read.Error?.ToString());
        Assert.True(parsed.Completed, parsed.Error?.ToString());
        Assert.Equal(parsed.ResultJson, read.ResultJson);
        Assert.Contains("55296", read.ResultJson, StringComparison.Ordinal); // the lone surrogate came through
    }

    /// <summary>
    /// A message kept by a script (a global) and read in a later run still has its own text: the heap
    /// does not hold on to the caller's buffer, which the caller may reuse once the run is over.
    /// </summary>
    [Fact]
    public void A_kept_message_does_not_change_when_the_callers_buffer_is_reused()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("keep@1", new ScriptSource("keep", """
            if (message.keep) { globalThis.kept = message; return null; }
            return [kept.text, kept.list[0]];
            """)));
        string first = $$"""{"keep":true,"text":"{{new string('a', 60)}}","list":["{{new string('b', 60)}}"]}""";
        byte[] buffer = Encoding.UTF8.GetBytes(first);
        Assert.True(heap.Run("keep@1", buffer, new RecordingHost()).Completed);

        buffer.AsSpan().Replace((byte)'a', (byte)'z');
        buffer.AsSpan().Replace((byte)'b', (byte)'y');
        ScriptRunResult later = heap.Run("keep@1", "{}", new RecordingHost());

        Assert.True(later.Completed, later.Error?.ToString());
        Assert.Equal($"""["{new string('a', 60)}","{new string('b', 60)}"]""", later.ResultJson);
    }

    /// <summary>
    /// Short property names are remembered from message to message (up to a bound): escaped names,
    /// names beyond the remembered length and names met after the bound is reached still come through as written.
    /// </summary>
    [Fact]
    public void Property_names_are_read_as_written_across_many_messages()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("k@1", new ScriptSource("k", "return [Object.keys(message), message.ab];")));
        string longName = new('x', 40);
        for (int i = 0; i < 600; i++)
        {
            string json = $$"""{"k{{i}}":1,"\u0061b":2,"ab":3,"{{longName}}":4,"\u00e9t\u00e9":5,"k{{i}}":6}""";
            ScriptRunResult result = heap.Run("k@1", Encoding.UTF8.GetBytes(json), new RecordingHost());
            Assert.True(result.Completed, result.Error?.ToString());
            Assert.Equal($$"""[["k{{i}}","ab","{{longName}}","été"],3]""", result.ResultJson);
        }
    }

    [Theory]
    [InlineData("return;")]
    [InlineData("")]
    [InlineData("var x = 1;")]
    [InlineData("return undefined;")]
    [InlineData("return function () {};")]
    public void Undefined_and_functions_give_no_result(string text)
    {
        ScriptRunResult result = ScriptRunner.Run(text);
        Assert.Equal(ScriptRunStatus.Completed, result.Status);
        Assert.Null(result.ResultJson);
        Assert.Null(result.Error);
    }

    [Fact]
    public void The_message_is_the_scripts_parameter_decoded_from_JSON()
    {
        string? json = ScriptRunner.Result(
            "return { sum: message.a + message.b, topic: message.topic, nested: message.n.list[1], type: typeof message };",
            """{"a": 2, "b": 3, "topic": "/acme/run/calc", "n": {"list": [1, "two"]}}""");
        Assert.Equal("""{"sum":5,"topic":"/acme/run/calc","nested":"two","type":"object"}""", json);
    }

    [Theory]
    [InlineData("42", "number")]
    [InlineData("\"text\"", "string")]
    [InlineData("null", "object")]
    [InlineData("[1,2]", "object")]
    public void The_message_can_be_any_JSON_value(string message, string type)
    {
        Assert.Equal($"\"{type}\"", ScriptRunner.Result("return typeof message;", message));
    }

    [Fact]
    public void A_message_that_is_not_JSON_does_not_run_the_script()
    {
        var host = new RecordingHost();
        ScriptRunResult result = ScriptRunner.Run("log('ran');", "{not json", host);
        Assert.Equal(ScriptRunStatus.InvalidMessage, result.Status);
        Assert.Contains("not JSON", result.Error!.Message, StringComparison.Ordinal);
        Assert.Empty(host.Calls);
    }

    [Fact]
    public void The_UTF8_overload_takes_the_message_as_bytes()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("s@1", new ScriptSource("s.js", "return message.x * 2;")));
        ScriptRunResult result = heap.Run("s@1", """{"x": 21}"""u8, new RecordingHost());
        Assert.Equal("42", result.ResultJson);
    }

    [Theory]
    [InlineData("throw new Error('boom');", "Error: boom", 1, 7)]
    [InlineData("var a = 1;\nvar b = 2;\nthrow new TypeError('bad ' + (a + b));", "TypeError: bad 3", 3, 7)]
    [InlineData("var x = null;\n\nx.y.z = 1;", "TypeError: Cannot read properties of null (reading 'y')", 3, 3)]
    [InlineData("\nundefinedFunction();", "ReferenceError: undefinedFunction is not defined", 2, 1)]
    [InlineData("function inner() {\n  throw new RangeError('deep');\n}\nfunction outer() { inner(); }\nouter();", "RangeError: deep", 2, 9)]
    [InlineData("[1, 2].forEach(function (v) {\n  if (v === 2) {\n    throw new Error('in callback');\n  }\n});", "Error: in callback", 3, 11)]
    [InlineData("\n\n\n  publish(42);", "TypeError: publish: topic must be a non-empty string, not number", 4, 3)]
    public void Thrown_errors_carry_the_message_and_the_line_and_column_in_the_script(string text, string message, int line, int column)
    {
        ScriptRunResult result = ScriptRunner.Run(text);
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.Null(result.ResultJson);
        Assert.Equal(message, result.Error!.Message);
        Assert.Equal(new SourcePosition(line, column), result.Error.Position);
        Assert.Equal($"{line}:{column}: {message}", result.Error.ToString());
    }

    [Fact]
    public void Runtime_errors_carry_the_scripts_stack_in_the_authors_positions()
    {
        ScriptRunResult result = ScriptRunner.Run(
            "function inner() {\n  throw new RangeError('deep');\n}\nconst outer = () => inner();\nouter();");
        Assert.Equal(
            "    at inner (test.js:2:9)\n    at outer (test.js:4:21)\n    at test.js:5:1",
            result.Error!.Stack);
    }

    [Fact]
    public void The_stack_keeps_the_ten_innermost_frames()
    {
        ScriptRunResult result = ScriptRunner.Run("function down(n) { if (n === 0) throw new Error('bottom'); down(n - 1); }\ndown(50);");
        string[] frames = result.Error!.Stack!.Split('\n');
        Assert.Equal(10, frames.Length);
        Assert.All(frames, f => Assert.StartsWith("    at down (test.js:1:", f, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("throw 'plain string';", "plain string")]
    [InlineData("throw 42;", "42")]
    [InlineData("throw { code: 7 };", "{\"code\":7}")]
    [InlineData("throw null;", "null")]
    public void Thrown_values_that_are_not_errors_are_described_with_the_throw_position(string text, string message)
    {
        ScriptRunResult result = ScriptRunner.Run("\n" + text);
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.Equal(message, result.Error!.Message);
        Assert.Equal(2, result.Error.Position!.Value.Line);
    }

    [Fact]
    public void An_error_whose_toString_throws_still_produces_a_message()
    {
        ScriptRunResult result = ScriptRunner.Run("var e = new Error('x'); e.toString = function () { throw e; }; throw e;");
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.False(string.IsNullOrEmpty(result.Error!.Message));
        Assert.Equal(1, result.Error.Position!.Value.Line);
    }

    [Fact]
    public void A_huge_error_message_is_cut_to_4_KiB()
    {
        ScriptRunResult result = ScriptRunner.Run("throw new Error(new Array(100000).join('é'));");
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.InRange(Encoding.UTF8.GetByteCount(result.Error!.Message), 4000, 4096);
        Assert.DoesNotContain('\uFFFD', result.Error.Message);
    }

    [Fact]
    public void A_cyclic_return_value_is_an_error_not_a_crash()
    {
        ScriptRunResult result = ScriptRunner.Run("var a = {}; a.self = a; return a;");
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.StartsWith("the return value cannot be encoded as JSON: TypeError", result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_return_value_over_the_size_limit_is_an_error()
    {
        var limits = new ScriptLimits { MaxResultBytes = 1000 };
        using ScriptHeap heap = ScriptHeap.Create(limits);
        Assert.Equal("\"" + new string('x', 998) + "\"", ScriptRunner.Run(heap, "return new Array(999).join('x');").ResultJson);
        ScriptRunResult result = ScriptRunner.Run(heap, "return new Array(1000).join('x');");
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.Equal("RangeError: the return value is 1001 bytes as JSON, the limit is 1000", result.Error!.Message);
    }

    [Fact]
    public void Syntax_errors_are_refused_at_load_with_line_and_column()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        ScriptError? error = heap.Load("bad@1", new ScriptSource("bad.js", "var ok = 1;\nvar broken = ;"));
        Assert.NotNull(error);
        Assert.Equal(new SourcePosition(2, 14), error.Position);
        Assert.Equal("SyntaxError: Unexpected token ';'", error.Message);
        Assert.StartsWith("SyntaxError", error.Message, StringComparison.Ordinal);
        Assert.False(heap.IsLoaded("bad@1"));
        Assert.Throws<InvalidOperationException>(() => heap.Run("bad@1", "{}", new RecordingHost()));
    }

    [Fact]
    public void Versions_are_kept_side_by_side_and_a_failed_load_keeps_what_was_there()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        var host = new RecordingHost();
        Assert.Null(heap.Load("calc@1", new ScriptSource("calc", "return 1;")));
        Assert.Null(heap.Load("calc@2", new ScriptSource("calc", "return 2;")));
        Assert.NotNull(heap.Load("calc@2", new ScriptSource("calc", "return (;")));
        Assert.Equal("1", heap.Run("calc@1", "{}", host).ResultJson);
        Assert.Equal("2", heap.Run("calc@2", "{}", host).ResultJson);
        heap.Unload("calc@1");
        Assert.False(heap.IsLoaded("calc@1"));
        Assert.Throws<InvalidOperationException>(() => heap.Run("calc@1", "{}", host));
        Assert.Equal(["calc@2"], heap.LoadedScripts);
    }

    [Fact]
    public void Loading_past_the_limit_unloads_the_least_recently_used_script()
    {
        using ScriptHeap heap = ScriptHeap.Create(new ScriptLimits { MaxLoadedScripts = 3 });
        var host = new RecordingHost();
        for (int i = 1; i <= 3; i++)
        {
            Assert.Null(heap.Load($"s@{i}", new ScriptSource("s", $"return {i};")));
        }
        heap.Run("s@1", "{}", host); // s@2 is now the least recently used
        Assert.Null(heap.Load("s@4", new ScriptSource("s", "return 4;")));
        Assert.Equal(["s@1", "s@3", "s@4"], heap.LoadedScripts.Order());
        Assert.Equal("1", heap.Run("s@1", "{}", host).ResultJson);
    }

    [Fact]
    public void A_script_sees_the_run_measurements()
    {
        ScriptRunResult result = ScriptRunner.Run("var a = []; for (var i = 0; i < 10000; i++) a.push({ i: i }); return a.length;");
        Assert.Equal("10000", result.ResultJson);
        Assert.True(result.Duration > TimeSpan.Zero);
        Assert.True(result.AllocatedBytes > 300_000, $"allocated {result.AllocatedBytes}");
    }

    [Fact]
    public void A_heap_cannot_be_used_from_its_own_host_call()
    {
        using ScriptHeap heap = ScriptHeap.Create();
        Assert.Null(heap.Load("s@1", new ScriptSource("s", "try { log('x'); } catch (e) { return String(e); }")));
        var host = new RecordingHost().Answer("log", _ =>
        {
            heap.Run("s@1", "{}", new RecordingHost());
            return null;
        });
        ScriptRunResult result = heap.Run("s@1", "{}", host);
        Assert.Equal("\"Error: log failed\"", result.ResultJson);
        Assert.IsType<InvalidOperationException>(result.HostException);
    }

    [Fact]
    public void A_disposed_heap_refuses_work()
    {
        ScriptHeap heap = ScriptHeap.Create();
        heap.Dispose();
        heap.Dispose();
        Assert.Throws<ObjectDisposedException>(() => heap.Load("s@1", new ScriptSource("s", "return 1;")));
        Assert.Throws<ObjectDisposedException>(() => heap.AllocatedBytes);
    }
}

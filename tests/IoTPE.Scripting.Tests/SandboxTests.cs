namespace IoTPE.Scripting.Tests;

/// <summary>What a script can reach: the standard built-ins and the API, nothing of the engine or the host.</summary>
public class SandboxTests
{
    /// <summary>Every global a script sees. Adding one is a decision: update this list, README.md and the prelude together.</summary>
    private static readonly string[] ExpectedGlobals =
    [
        // ES5.1
        "Array", "Boolean", "Date", "Error", "EvalError", "Function", "Infinity", "JSON", "Math", "NaN", "Number", "Object",
        "RangeError", "ReferenceError", "RegExp", "String", "SyntaxError", "TypeError", "URIError", "decodeURI",
        "decodeURIComponent", "encodeURI", "encodeURIComponent", "escape", "eval", "isFinite", "isNaN", "parseFloat", "parseInt",
        "undefined", "unescape",
        // ES2015+ as Duktape 2.7 has them
        "ArrayBuffer", "DataView", "Float32Array", "Float64Array", "Int16Array", "Int32Array", "Int8Array", "Proxy", "Reflect",
        "Symbol", "Uint16Array", "Uint32Array", "Uint8Array", "Uint8ClampedArray", "globalThis",
        // WHATWG Encoding and High Resolution Time
        "TextDecoder", "TextEncoder", "performance",
        // IoTPE's API
        "console", "db", "kv", "log", "publish",
    ];

    [Fact]
    public void A_script_sees_exactly_the_documented_globals()
    {
        string? json = ScriptRunner.Result("return Object.getOwnPropertyNames(globalThis).sort();");
        Assert.Equal(ExpectedGlobals.Order(StringComparer.Ordinal), System.Text.Json.JsonSerializer.Deserialize(json!, StringArrayContext.Default.StringArray));
    }

    [Fact]
    public void The_global_object_has_no_symbol_keyed_properties()
    {
        Assert.Equal("0", ScriptRunner.Result("return Object.getOwnPropertySymbols(globalThis).length;"));
    }

    [Theory]
    [InlineData("Duktape")]
    [InlineData("CBOR")]
    [InlineData("Buffer")]
    [InlineData("require")]
    [InlineData("module")]
    [InlineData("exports")]
    [InlineData("print")]
    [InlineData("alert")]
    [InlineData("process")]
    [InlineData("host")]
    public void Engine_internals_and_host_access_are_not_reachable(string name)
    {
        string? json = ScriptRunner.Result(
            $"return [typeof {name}, typeof globalThis['{name}'], typeof this['{name}'], typeof (new Function('return this'))()['{name}'], typeof eval('typeof {name}')];");
        Assert.Equal("""["undefined","undefined","undefined","undefined","string"]""", json);
        Assert.Equal("\"undefined\"", ScriptRunner.Result($"return eval('typeof {name}');"));
    }

    [Fact]
    public void Duktape_specific_plain_buffer_helpers_are_removed()
    {
        Assert.Equal("""["undefined","undefined"]""", ScriptRunner.Result("return [typeof Uint8Array.allocPlain, typeof Uint8Array.plainOf];"));
    }

    [Fact]
    public void The_API_objects_hold_only_their_documented_functions()
    {
        Assert.Equal(
            // Strict functions (the prelude is strict) carry the standard throwing arguments/caller accessors.
            """[["exec","query"],["get","remove","set"],["debug","error","info","log","warn"],["arguments","caller","fileName","length","name","prototype"],["arguments","caller","fileName","length","name","prototype"]]""",
            ScriptRunner.Result(
                "var names = Object.getOwnPropertyNames;\n" +
                "return [names(db).sort(), names(kv).sort(), names(console).sort(), names(publish).sort(), names(log).sort()];"));
    }

    [Fact]
    public void Standard_ES2015_features_that_Duktape_has_work()
    {
        Assert.Equal(
            """[true,3,"ok",8,"a,b",true,"abc",2,3]""",
            ScriptRunner.Result(
                "var p = new Proxy({}, { get: function (t, k) { return k === 'x'; } });\n" +
                "var sym = Symbol('s'); var o = {}; o[sym] = 3;\n" +
                "var bytes = new TextEncoder().encode('ok');\n" +
                "var dv = new DataView(new ArrayBuffer(8));\n" +
                "return [p.x, o[sym], new TextDecoder().decode(bytes), dv.byteLength, Reflect.ownKeys({a: 1, b: 2}).join(),\n" +
                "  'abc'.startsWith('a'), 'abc'.repeat(1), 2 ** 1, Math.trunc(3.7)];"));
    }

    [Theory]
    [InlineData("let x = 1; return x;")]
    [InlineData("return (() => 1)();")]
    [InlineData("return `template`;")]
    [InlineData("class A {} return 1;")]
    [InlineData("var [a] = [1]; return a;")]
    public void ES2015_syntax_Duktape_lacks_is_a_syntax_error_at_load(string text)
    {
        using ScriptHeap heap = ScriptHeap.Create();
        ScriptError? error = heap.Load("s@1", new ScriptSource("s.js", text));
        Assert.NotNull(error);
        Assert.StartsWith("SyntaxError", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Const_is_accepted_as_Duktape_does_it()
    {
        // Duktape 2.7 parses const like var (no block scope), which README.md documents.
        Assert.Equal("3", ScriptRunner.Result("const x = 1; { const x = 3; } return x;"));
    }

    [Fact]
    public void Owners_heaps_do_not_share_globals()
    {
        using ScriptHeap first = ScriptHeap.Create();
        using ScriptHeap second = ScriptHeap.Create();
        Assert.True(ScriptRunner.Run(first, "globalThis.secret = 'first';").Completed);
        Assert.Equal("\"first\"", ScriptRunner.Run(first, "return secret;").ResultJson);
        Assert.Equal("\"undefined\"", ScriptRunner.Run(second, "return typeof secret;").ResultJson);
    }

    [Fact]
    public void Errors_reveal_no_engine_hook()
    {
        Assert.Equal(
            """["undefined",false]""",
            ScriptRunner.Result("var e = new Error('x'); return [typeof e.errCreate, Object.getOwnPropertyNames(e).some(function (k) { return k.indexOf('IoTPE') >= 0; })];"));
    }
}

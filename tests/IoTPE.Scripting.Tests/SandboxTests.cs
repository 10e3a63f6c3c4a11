namespace IoTPE.Scripting.Tests;

/// <summary>What a script can reach: the standard built-ins and the API, nothing of the engine, .NET or the host.</summary>
public class SandboxTests
{
    /// <summary>Every global a script sees. Adding one is a decision: update this list, README.md and the prelude together.</summary>
    private static readonly string[] ExpectedGlobals =
    [
        // ECMAScript 2025 and the proposals Jint 4.18 ships (Temporal, explicit resource management, Float16Array)
        "AggregateError", "Array", "ArrayBuffer", "AsyncDisposableStack", "AsyncIterator", "Atomics", "BigInt", "BigInt64Array",
        "BigUint64Array", "Boolean", "DataView", "Date", "DisposableStack", "Error", "EvalError", "FinalizationRegistry",
        "Float16Array", "Float32Array", "Float64Array", "Function", "Generator", "Infinity", "Int16Array", "Int32Array", "Int8Array",
        "Intl", "Iterator", "JSON", "Map", "Math", "NaN", "Number", "Object", "Promise", "Proxy", "RangeError", "ReferenceError",
        "Reflect", "RegExp", "Set", "SharedArrayBuffer", "String", "SuppressedError", "Symbol", "SyntaxError", "Temporal",
        "TypeError", "TypedArray", "URIError", "Uint16Array", "Uint32Array", "Uint8Array", "Uint8ClampedArray", "WeakMap", "WeakRef",
        "WeakSet", "decodeURI", "decodeURIComponent", "encodeURI", "encodeURIComponent", "escape", "eval", "globalThis", "isFinite",
        "isNaN", "parseFloat", "parseInt", "toString", "undefined", "unescape",
        // IoTPE's API
        "console", "db", "gpio", "kv", "log", "publish",
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
    [InlineData("importNamespace")]
    [InlineData("System")]
    [InlineData("clr")]
    [InlineData("host")]
    [InlineData("require")]
    [InlineData("module")]
    [InlineData("exports")]
    [InlineData("process")]
    [InlineData("ShadowRealm")]
    [InlineData("setTimeout")]
    [InlineData("fetch")]
    [InlineData("print")]
    public void Engine_internals_and_host_access_are_not_reachable(string name)
    {
        string? json = ScriptRunner.Result(
            $"return [typeof {name}, typeof globalThis['{name}'], typeof this['{name}'], typeof (new Function('return this'))()['{name}'], typeof eval('typeof {name}')];");
        Assert.Equal("""["undefined","undefined","undefined","undefined","string"]""", json);
        Assert.Equal("\"undefined\"", ScriptRunner.Result($"return eval('typeof {name}');"));
    }

    /// <summary>No CLR interop is enabled: nothing in the realm is a wrapped .NET object or type.</summary>
    [Fact]
    public void A_script_cannot_reach_any_dotnet_type()
    {
        string? json = ScriptRunner.Result(
            "const probes = [publish, db, db.query, kv, kv.get, console, console.log, log, message, globalThis, JSON, Math, new Error('x')];\n" +
            "const found = [];\n" +
            "for (const p of probes) {\n" +
            "  for (const name of ['GetType', 'ToString', 'Equals', 'GetHashCode', 'ReferenceEquals', 'Assembly']) {\n" +
            "    if (p[name] !== undefined) found.push(name);\n" +
            "  }\n" +
            "}\n" +
            "let escaped = 'no';\n" +
            "try { escaped = String(importNamespace('System')); } catch (e) { escaped = e.name; }\n" +
            "return { found, escaped, system: typeof System, clr: typeof clr, ctor: publish.constructor === Function,\n" +
            "  fromFunction: Function('return typeof importNamespace')() };",
            "{}");
        Assert.Equal("""{"found":[],"escaped":"ReferenceError","system":"undefined","clr":"undefined","ctor":true,"fromFunction":"undefined"}""", json);
    }

    [Fact]
    public void The_API_objects_hold_only_their_documented_functions()
    {
        // The functions are built-ins, as Node.js's console.log is: no prototype, not constructors.
        Assert.Equal(
            """[["exec","query"],["get","remove","set"],["debug","error","info","log","warn"],["length","name"],["length","name"]]""",
            ScriptRunner.Result(
                "var names = Object.getOwnPropertyNames;\n" +
                "return [names(db).sort(), names(kv).sort(), names(console).sort(), names(publish).sort(), names(log).sort()];"));
    }

    [Theory]
    [InlineData("const f = (a, b = 2) => a + b; return f(1);", "3")]
    [InlineData("let x = 1; { let x = 2; } return x;", "1")]
    [InlineData("const who = 'world'; return `hello ${who} ${1 + 1}`;", "\"hello world 2\"")]
    [InlineData("class A { #n = 1; constructor(m) { this.m = m; } get sum() { return this.#n + this.m; } static of(m) { return new A(m); } }\nclass B extends A { get sum() { return super.sum * 10; } }\nreturn new B(2).sum + A.of(1).sum;", "32")]
    [InlineData("const { a, b: [c, ...rest], d = 4 } = { a: 1, b: [2, 3, 5] }; return [a, c, rest, d];", "[1,2,[3,5],4]")]
    [InlineData("let s = 0; for (const v of [1, 2, 3]) s += v; for (const [k, v] of Object.entries({ x: 4 })) s += v; return s;", "10")]
    [InlineData("const m = new Map([['a', 1]]); m.set('b', 2); const s = new Set([1, 1, 2]); return [...m.keys(), s.size, s.has(2)];", "[\"a\",\"b\",2,true]")]
    [InlineData("const o = { p: { q: null } }; return [o.p?.q?.r, o.x ?? 'default', [1, 2, 3].at(-1), 'ab'.padStart(4, '-')];", "[null,\"default\",3,\"--ab\"]")]
    [InlineData("function* g() { yield 1; yield 2; } return [...g()];", "[1,2]")]
    [InlineData("return [10n ** 20n === 100000000000000000000n, Object.groupBy([1, 2, 3], x => x % 2 ? 'odd' : 'even').odd];", "[true,[1,3]]")]
    [InlineData("const { total } = { ...message, total: message.x + message.y }; return total;", "5")]
    public void Modern_syntax_works_in_scripts(string text, string json)
    {
        Assert.Equal(json, ScriptRunner.Result(text, """{"x": 2, "y": 3}"""));
    }

    [Fact]
    public void An_async_script_returns_the_awaited_value()
    {
        var host = new RecordingHost().Answer(ScriptHostFunction.KvGet, _ => "41");
        string? json = ScriptRunner.Result(
            "const add = async (a, b) => a + b;\n" +
            "const stored = await Promise.resolve(kv.get('n'));\n" +
            "const [x, y] = await Promise.all([add(stored, 1), add(0, 0)]);\n" +
            "publish('/acme/out', `${x}`);\n" +
            "return { x, y };", host: host);
        Assert.Equal("""{"x":42,"y":0}""", json);
        Assert.Equal("""["/acme/out","42",0,false]""", Assert.Single(host.CallsOf(ScriptHostFunction.Publish)).Arguments);
    }

    [Fact]
    public void A_returned_promise_is_settled_before_the_run_ends()
    {
        Assert.Equal("7", ScriptRunner.Result("return new Promise(resolve => resolve(3)).then(v => v + 4);"));
    }

    [Fact]
    public void A_rejected_async_script_fails_with_the_error_and_its_line()
    {
        ScriptRunResult result = ScriptRunner.Run("await null;\nthrow new TypeError('late');");
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.Equal("TypeError: late", result.Error!.Message);
        Assert.Equal(2, result.Error.Position!.Value.Line);
    }

    [Fact]
    public void A_promise_that_never_settles_fails_at_once_instead_of_waiting()
    {
        ScriptRunResult result = ScriptRunner.Run("await new Promise(() => {});\nreturn 1;");
        Assert.Equal(ScriptRunStatus.Threw, result.Status);
        Assert.StartsWith("Error: the script's promise never settled", result.Error!.Message, StringComparison.Ordinal);
        Assert.True(result.Duration < TimeSpan.FromMilliseconds(900), $"{result.Duration}");
    }

    [Fact]
    public void Await_used_as_a_name_in_an_ES5_script_still_works()
    {
        Assert.Equal("3", ScriptRunner.Result("var await = 3; return await;"));
    }

    [Fact]
    public void Strict_mode_is_off_unless_the_script_asks_for_it()
    {
        Assert.Equal("[true,false]", ScriptRunner.Result(
            "var sloppy = (function () { return this === undefined; })();\n" +
            "var strict = (function () { 'use strict'; return this === undefined; })();\n" +
            "undeclared = 1; return [strict, sloppy];"));
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

    /// <summary>Built-ins, prototypes and the API are per account: vandalism stays in the vandal's engine.</summary>
    [Fact]
    public void Redefining_built_ins_affects_at_most_the_own_account()
    {
        using ScriptHeap vandal = ScriptHeap.Create();
        using ScriptHeap neighbour = ScriptHeap.Create();
        ScriptRunResult vandalism = ScriptRunner.Run(vandal,
            "JSON.parse = () => 'hijacked'; Object.prototype.toString = () => 'hijacked';\n" +
            "Array.prototype.map = () => ['hijacked']; globalThis.publish = () => {}; console.log = null;\n" +
            "return [JSON.parse('1'), String({}), typeof console.log];");
        Assert.Equal("""["hijacked","hijacked","function"]""", vandalism.ResultJson);

        var host = new RecordingHost();
        ScriptRunResult neighbourRun = ScriptRunner.Run(neighbour,
            "publish('/n/out', 'x'); return [JSON.parse('1'), String({}), [1].map(x => x + 1)];", host: host);
        Assert.Equal("""[1,"[object Object]",[2]]""", neighbourRun.ResultJson);
        Assert.Single(host.CallsOf(ScriptHostFunction.Publish));
    }

    [Fact]
    public void Errors_reveal_no_engine_internals()
    {
        Assert.Equal(
            """["undefined",false]""",
            ScriptRunner.Result("var e = new Error('x'); return [typeof e.errCreate, String(e.stack).includes('iotpe:prelude')];"));
    }
}

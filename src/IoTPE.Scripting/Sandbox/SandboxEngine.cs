using IoTPE.Scripting.Interop;
using Jint;
using Jint.Native;
using Jint.Native.Json;

namespace IoTPE.Scripting.Sandbox;

/// <summary>
/// One Jint engine set up for untrusted scripts: its own realm (globals, prototypes, the API),
/// limits as constraints, the host bridge, and the functions of the scripts loaded into it.
/// </summary>
/// <remarks>
/// No CLR interop is enabled: the only .NET code a script can reach is the script API's host
/// functions (<see cref="ScriptApi"/>). There is no <c>importNamespace</c>, no <c>System</c>, no
/// wrapped .NET object anywhere in the realm.
/// </remarks>
internal sealed class SandboxEngine : IDisposable
{
    private readonly Dictionary<CompiledScript, JsValue> _functions = new(ReferenceEqualityComparer.Instance);

    private SandboxEngine(Engine engine, HostCallBridge bridge, RunAllocationBudget memory)
    {
        Engine = engine;
        Bridge = bridge;
        Memory = memory;
        MessageParser = new JsonParser(engine);
        ResultSerializer = new JsonSerializer(engine);
    }

    public Engine Engine { get; }

    /// <summary>Parses each run's message (kept: one fewer allocation per run).</summary>
    public JsonParser MessageParser { get; }

    /// <summary>Encodes each run's result.</summary>
    public JsonSerializer ResultSerializer { get; }

    public HostCallBridge Bridge { get; }

    /// <summary>The per-run allocation budget; armed by the heap around each run.</summary>
    public RunAllocationBudget Memory { get; }

    /// <summary>Managed bytes allocated on behalf of this engine since it was created (setup and runs).</summary>
    public long AllocatedBytes { get; set; }

    /// <summary>Creates the engine with the script API, its runs limited by <paramref name="budget"/>.</summary>
    public static SandboxEngine Create(ScriptLimits limits, RunBudget budget)
    {
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var memory = new RunAllocationBudget();
        var engine = new Engine(options =>
        {
            // Scripts are ES5-style function bodies; 'use strict' in a script still works.
            options.Strict = false;
            options.Interop.Enabled = false;
            // Without both, deep recursion overflows the native stack and kills the process.
            options.LimitRecursion(SandboxEngineDefaults.CallDepth);
            options.Constraints.StackOverflowGuard = true;
            options.Constraints.RegexTimeout = limits.RegexTimeout;
            options.Constraints.MaxArraySize = SandboxEngineDefaults.MaxArrayLength;
            options.Json.MaxParseDepth = SandboxEngineDefaults.JsonDepth;
            if (limits.MaxStatementsPerRun is { } statements)
            {
                options.MaxStatements(statements);
            }
            options.Constraint(budget);
            options.Constraint(memory);
        });
        var bridge = new HostCallBridge(engine, limits);
        var sandbox = new SandboxEngine(engine, bridge, memory);
        ScriptApi.Install(engine, bridge);
        ArrayConcatGuard.Install(engine);
        // Nothing beyond the documented surface. ShadowRealm is a proposal Node.js does not have; each
        // instance is a whole new set of built-ins, i.e. memory for nothing a rule needs.
        engine.Global.Delete("ShadowRealm");
        sandbox.AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        return sandbox;
    }

    /// <summary>The function of <paramref name="script"/> in this engine, created on first use.</summary>
    public JsValue FunctionOf(CompiledScript script)
    {
        if (!_functions.TryGetValue(script, out JsValue? function))
        {
            function = Engine.Evaluate(script.Prepared);
            _functions[script] = function;
        }
        return function;
    }

    /// <summary>Drops the function of a script that was unloaded.</summary>
    public void Forget(CompiledScript script) => _functions.Remove(script);

    public void Dispose()
    {
        _functions.Clear();
        Engine.Dispose();
    }
}

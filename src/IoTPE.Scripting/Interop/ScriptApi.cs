using System.Globalization;
using Jint;
using Jint.Native;
using Jint.Native.Function;
using Jint.Native.Object;
using Jint.Native.Symbol;
using Jint.Runtime;
using Jint.Runtime.Descriptors;
using Jint.Runtime.Interop;

namespace IoTPE.Scripting.Interop;

/// <summary>
/// The script API of one engine — <c>publish</c>, <c>db</c>, <c>kv</c>, <c>gpio</c>, <c>log</c>,
/// <c>console</c> — as read-only globals whose functions check their arguments (a mistake ends in a
/// clear TypeError naming the function and the argument) and hand the call to the
/// <see cref="HostCallBridge"/>. Function names and argument shapes: <see cref="ScriptHostFunction"/>
/// and README.md.
/// </summary>
/// <remarks>
/// Built in .NET rather than by a JavaScript prelude: an idle account's engine then holds a dozen
/// small host functions instead of ~40 script closures, the realm's built-ins (JSON, Object, Array,
/// the Error types) stay uncreated until a script uses them, and nothing a script does to the
/// built-ins (replacing <c>JSON.stringify</c>, <c>Object.keys</c>, <c>Array.isArray</c>) can change
/// what the API checks or sends. The objects are frozen from birth: in Jint 4.18 every attribute
/// change of an existing object (<c>Object.freeze</c>, <c>defineProperty</c>) leaves a hidden-class
/// transition in the engine, 1–2 KiB each for the engine's life.
/// </remarks>
internal sealed class ScriptApi
{
    private readonly Engine _engine;
    private readonly HostCallBridge _bridge;

    private ScriptApi(Engine engine, HostCallBridge bridge)
    {
        _engine = engine;
        _bridge = bridge;
    }

    /// <summary>Defines the API's globals in <paramref name="engine"/>, calling into <paramref name="bridge"/>.</summary>
    public static void Install(Engine engine, HostCallBridge bridge)
    {
        var api = new ScriptApi(engine, bridge);
        api.Define("publish", api.Function("publish", api.Publish, 3));
        api.Define("db", api.Frozen(
            api.Function("query", (_, arguments) => api.Sql(ScriptHostFunction.DbQuery, arguments), 2),
            api.Function("exec", (_, arguments) => api.Sql(ScriptHostFunction.DbExec, arguments), 2)));
        api.Define("kv", api.Frozen(
            api.Function("get", api.NamedCall(ScriptHostFunction.KvGet, "kv.get: key"), 1),
            api.Function("set", api.KvSet, 2),
            api.Function("remove", api.NamedCall(ScriptHostFunction.KvRemove, "kv.remove: key"), 1)));
        api.Define("gpio", api.Frozen(
            // The gateway's pins that belong to the script's account (the host refuses every other name).
            api.Function("read", api.NamedCall(ScriptHostFunction.GpioRead, "gpio.read: name"), 1),
            api.Function("write", api.GpioWrite, 2)));
        api.Define("log", api.Logger("log", "info"));
        api.Define("console", api.Frozen(
            api.Logger("log", "info"),
            api.Logger("info", "info"),
            api.Logger("warn", "warn"),
            api.Logger("error", "error"),
            api.Logger("debug", "debug")));
    }

    // publish(topic, payload, {qos, retain})
    private JsValue Publish(JsValue thisObject, JsValue[] arguments)
    {
        string topic = RequireText(arguments.At(0), "publish: topic");
        JsValue payload = arguments.At(1);
        string text;
        if (payload is JsString payloadText)
        {
            text = payloadText.ToString();
        }
        else
        {
            JsValue json = payload.IsUndefined() ? JsValue.Undefined : _bridge.Stringify(payload);
            if (!json.IsString())
            {
                throw Fail("publish: payload must be a string or a JSON-serializable value, not " + KindOf(payload));
            }
            text = json.AsString();
        }
        int qos = 0;
        bool retain = false;
        JsValue options = arguments.At(2);
        if (!IsNullish(options))
        {
            if (options is not ObjectInstance optionsObject || options.IsCallable() || options.IsArray())
            {
                throw Fail("publish: options must be an object like {qos: 1, retain: true}, not " + KindOf(options));
            }
            foreach ((string name, JsValue value) in EnumerableProperties(optionsObject))
            {
                if (name == "qos")
                {
                    if (!value.IsUndefined() && !(value is JsNumber number && number.AsNumber() is 0 or 1 or 2))
                    {
                        throw Fail("publish: options.qos must be 0, 1 or 2");
                    }
                    qos = value.IsUndefined() ? 0 : (int)value.AsNumber();
                }
                else if (name == "retain")
                {
                    if (!value.IsUndefined() && !value.IsBoolean())
                    {
                        throw Fail("publish: options.retain must be true or false");
                    }
                    retain = value.IsBoolean() && value.AsBoolean();
                }
                else
                {
                    throw Fail($"publish: unknown option \"{name}\" (the options are qos and retain)");
                }
            }
        }
        _bridge.Publish(topic, text, qos, retain);
        return JsValue.Undefined;
    }

    // db.query(sql, params) and db.exec(sql, params): params an array for positional ? parameters,
    // an object for named ones.
    private JsValue Sql(string function, JsValue[] arguments)
    {
        JsValue sql = arguments.At(0);
        RequireText(sql, function + ": sql");
        return _bridge.Call(function, sql, SqlParameters(function, arguments.At(1)));
    }

    private JsValue SqlParameters(string function, JsValue parameters)
    {
        if (IsNullish(parameters))
        {
            return new JsArray(_engine);
        }
        if (parameters is JsArray array)
        {
            uint length = array.Length;
            for (uint i = 0; i < length; i++)
            {
                RequireParameterValue(array[i], $"{function}: parameter {i + 1}");
            }
            return parameters;
        }
        if (parameters is ObjectInstance named && !parameters.IsCallable())
        {
            foreach ((string name, JsValue value) in EnumerableProperties(named))
            {
                RequireParameterValue(value, $"{function}: parameter \"{name}\"");
            }
            return parameters;
        }
        throw Fail($"{function}: params must be an array (for ? parameters) or an object (for :name parameters), not {KindOf(parameters)}");
    }

    private void RequireParameterValue(JsValue value, string what)
    {
        if (!value.IsNull() && !value.IsBoolean() && !value.IsNumber() && !value.IsString())
        {
            throw Fail(what + " must be null, a boolean, a number or a string, not " + KindOf(value));
        }
    }

    // kv.get(key), kv.remove(key), gpio.read(name): one non-empty string, the host's answer returned.
    private Func<JsValue, JsValue[], JsValue> NamedCall(string function, string what) => (_, arguments) =>
    {
        JsValue name = arguments.At(0);
        RequireText(name, what);
        return _bridge.Call(function, name);
    };

    private JsValue KvSet(JsValue thisObject, JsValue[] arguments)
    {
        JsValue key = arguments.At(0), value = arguments.At(1);
        RequireText(key, "kv.set: key");
        if (value.IsUndefined() || value.IsCallable() || value.IsSymbol())
        {
            throw Fail("kv.set: value must be a JSON value (to delete a key, use kv.remove), not " + TypeOf(value));
        }
        _bridge.Call(ScriptHostFunction.KvSet, key, value);
        return JsValue.Undefined;
    }

    // Values are logical: 0 or 1 after active-low; true and false are 1 and 0.
    private JsValue GpioWrite(JsValue thisObject, JsValue[] arguments)
    {
        JsValue name = arguments.At(0), value = arguments.At(1);
        RequireText(name, "gpio.write: name");
        int pin = value switch
        {
            JsBoolean flag => flag.AsBoolean() ? 1 : 0,
            JsNumber number when number.AsNumber() is 1 => 1,
            JsNumber number when number.AsNumber() is 0 => 0,
            _ => throw Fail("gpio.write: value must be 0, 1, true or false, not " + (value.IsNumber() ? TypeConverter.ToString(value) : KindOf(value))),
        };
        _bridge.Call(ScriptHostFunction.GpioWrite, name, JsNumber.Create(pin));
        return JsValue.Undefined;
    }

    private ClrFunction Logger(string name, string level)
    {
        var levelValue = new JsString(level);
        return Function(name, (_, arguments) =>
        {
            _bridge.Call(ScriptHostFunction.Log, levelValue, new JsString(Format(arguments)));
            return JsValue.Undefined;
        }, 0);
    }

    // log(...) joins its arguments as console.log does: strings as they are, other values as JSON
    // where that reads well, else as their string form.
    private string Format(JsValue[] arguments)
    {
        if (arguments.Length == 1 && arguments[0] is JsString only)
        {
            return only.ToString();
        }
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < arguments.Length; i++)
        {
            if (i > 0)
            {
                text.Append(' ');
            }
            text.Append(FormatValue(arguments[i]));
        }
        return text.ToString();
    }

    private string FormatValue(JsValue value)
    {
        if (value is JsString text)
        {
            return text.ToString();
        }
        if (value.IsCallable() && value is ObjectInstance function)
        {
            JsValue name = function.Get("name");
            return TypeConverter.ToBoolean(name) ? $"[Function: {TypeConverter.ToString(name)}]" : "[Function]";
        }
        if (value is ObjectInstance instance && !IsError(instance))
        {
            try
            {
                JsValue json = _bridge.Stringify(value);
                if (json.IsString())
                {
                    return json.AsString();
                }
            }
            catch (JavaScriptException)
            {
                // cyclic, or a toJSON that throws: fall back to the string form
            }
        }
        // String(value): a symbol has a string form, though it does not convert implicitly.
        return value is JsSymbol symbol ? symbol.ToString() : TypeConverter.ToString(value);
    }

    // value instanceof Error, by the realm's own Error (a script may replace the global one).
    private bool IsError(ObjectInstance value)
    {
        // Error.prototype is read-only and non-configurable: the realm's own, whatever a script did.
        var errorPrototype = (ObjectInstance)_engine.Intrinsics.Error.Get("prototype");
        for (ObjectInstance? prototype = value.Prototype; prototype is not null; prototype = prototype.Prototype)
        {
            if (ReferenceEquals(prototype, errorPrototype))
            {
                return true;
            }
        }
        return false;
    }

    private string RequireText(JsValue value, string what)
    {
        if (value is JsString text && text.Length > 0)
        {
            return text.ToString();
        }
        throw Fail($"{what} must be a non-empty string, not {(value is JsString ? "an empty string" : KindOf(value))}");
    }

    // Object.keys(value) with each value read: own enumerable string-keyed properties, in order.
    private static IEnumerable<(string Name, JsValue Value)> EnumerableProperties(ObjectInstance value)
    {
        foreach (JsValue key in value.GetOwnPropertyKeys(Types.String))
        {
            PropertyDescriptor descriptor = value.GetOwnProperty(key);
            if (descriptor != PropertyDescriptor.Undefined && descriptor.Enumerable)
            {
                yield return (key.ToString(), value.Get(key));
            }
        }
    }

    private static bool IsNullish(JsValue value) => value.IsNull() || value.IsUndefined();

    private static string KindOf(JsValue value) => value.IsNull() ? "null" : value.IsArray() ? "an array" : TypeOf(value);

    private static string TypeOf(JsValue value) => value.Type switch
    {
        Types.Undefined => "undefined",
        Types.Null => "object",
        Types.Boolean => "boolean",
        Types.String => "string",
        Types.Number => "number",
        Types.Symbol => "symbol",
        Types.BigInt => "bigint",
        _ => value.IsCallable() ? "function" : "object",
    };

    private JavaScriptException Fail(string message) => new(_engine.Intrinsics.TypeError, message);

    private ClrFunction Function(string name, Func<JsValue, JsValue[], JsValue> body, int length)
    {
        var function = new ClrFunction(_engine, name, body, length);
        function.PreventExtensions(); // its name and length are read-only already: it is frozen
        return function;
    }

    // An object of the given functions (by their names), its properties read-only and
    // non-configurable, taking no new ones: frozen from birth.
    private JsObject Frozen(params ClrFunction[] functions)
    {
        var frozen = new JsObject(_engine);
        foreach (ClrFunction function in functions)
        {
            frozen.FastSetProperty(TypeConverter.ToString(function.Get("name")), new PropertyDescriptor(function, PropertyFlag.OnlyEnumerable));
        }
        frozen.PreventExtensions();
        return frozen;
    }

    // Read-only, non-deletable, not enumerable: a script cannot replace the API for the scripts
    // that run after it in the same engine.
    private void Define(string name, ObjectInstance value) =>
        _engine.Global.FastSetProperty(name, new PropertyDescriptor(value, PropertyFlag.AllForbidden));
}

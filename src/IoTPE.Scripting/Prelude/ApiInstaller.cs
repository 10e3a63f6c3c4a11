using Jint;
using Jint.Native;
using Jint.Native.Function;
using Jint.Native.Object;
using Jint.Runtime;
using Jint.Runtime.Descriptors;
using Jint.Runtime.Interop;

namespace IoTPE.Scripting.Prelude;

/// <summary>
/// <c>install(name, value)</c>, the prelude's third parameter: puts what the prelude defined into
/// the engine as the read-only script API. Only usable while the prelude runs.
/// </summary>
/// <remarks>
/// The API's objects are built here, frozen from birth, rather than by <c>Object.freeze</c> in the
/// prelude: in Jint 4.18 every attribute change of an existing object (freeze, defineProperty) leaves
/// a new hidden-class transition in the engine, 1–2 KiB each, kept for the engine's life (measured:
/// the prelude's 18 freezes were 18 KiB of an idle account's 96 KiB). A property written into a new
/// object with its final attributes makes none.
/// </remarks>
internal sealed class ApiInstaller
{
    /// <summary>The one built-in the prelude replaces (see prelude.js for why).</summary>
    private const string ArrayConcat = "Array.prototype.concat";

    private static readonly HashSet<string> Globals = new(StringComparer.Ordinal) { "publish", "log", "db", "kv", "gpio", "console" };

    private readonly Engine _engine;
    private bool _closed;

    public ApiInstaller(Engine engine)
    {
        _engine = engine;
        Function = new ClrFunction(engine, "install", Install, 2);
    }

    /// <summary>The function handed to the prelude.</summary>
    public ClrFunction Function { get; }

    /// <summary>Ends setup: later calls (there are none in the prelude) throw.</summary>
    public void Close() => _closed = true;

    private JsValue Install(JsValue thisObject, JsValue[] arguments)
    {
        if (_closed || arguments is not [JsString nameValue, ObjectInstance value])
        {
            throw new JavaScriptException(_engine.Intrinsics.TypeError, "install: only the prelude installs the API");
        }
        string name = nameValue.ToString();
        if (name == ArrayConcat && value is Function)
        {
            // Writable, configurable, not enumerable: as the built-in it replaces.
            _engine.Intrinsics.Array.PrototypeObject.FastSetProperty("concat", new PropertyDescriptor(value, PropertyFlag.NonEnumerable));
            return JsValue.Undefined;
        }
        if (!Globals.Contains(name))
        {
            throw new JavaScriptException(_engine.Intrinsics.TypeError, $"install: '{name}' is not part of the script API");
        }
        // Read-only, non-deletable, not enumerable: a script cannot replace the API for the
        // scripts that run after it in the same engine.
        _engine.Global.FastSetProperty(name, new PropertyDescriptor(Locked(value), PropertyFlag.AllForbidden));
        return JsValue.Undefined;
    }

    // A function as it is, closed to new properties (its name and length are read-only already); an
    // object of functions as a new object whose properties are read-only and non-configurable and
    // which takes no new ones, i.e. frozen.
    private ObjectInstance Locked(ObjectInstance value)
    {
        if (value is Function function)
        {
            function.PreventExtensions();
            return function;
        }
        var locked = new JsObject(_engine);
        foreach (KeyValuePair<JsValue, PropertyDescriptor> property in value.GetOwnProperties())
        {
            JsValue member = property.Value.Value;
            if (member is not Function memberFunction)
            {
                throw new JavaScriptException(_engine.Intrinsics.TypeError, $"install: {property.Key} is not a function");
            }
            memberFunction.PreventExtensions();
            locked.FastSetProperty(property.Key.ToString(), new PropertyDescriptor(member, PropertyFlag.OnlyEnumerable));
        }
        locked.PreventExtensions();
        return locked;
    }
}

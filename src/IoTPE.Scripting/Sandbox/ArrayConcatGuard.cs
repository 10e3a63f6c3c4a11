using Jint;
using Jint.Native;
using Jint.Native.Error;
using Jint.Native.Object;
using Jint.Runtime;
using Jint.Runtime.Descriptors;
using Jint.Runtime.Interop;

namespace IoTPE.Scripting.Sandbox;

/// <summary>
/// <c>Array.prototype.concat</c> with a length check in front of the built-in: Jint's concat walks
/// every index up to the result's length in one .NET loop that no time check interrupts, so
/// <c>[].concat(a)</c> with <c>a[4294967294] = 1</c> would hold a worker for minutes. Results longer
/// than any array may be (<see cref="SandboxEngineDefaults.MaxArrayLength"/>) are refused at once
/// with the RangeError the built-in would throw.
/// </summary>
internal static class ArrayConcatGuard
{
    /// <summary>Replaces <c>Array.prototype.concat</c> of <paramref name="engine"/>'s realm (before any script runs).</summary>
    public static void Install(Engine engine)
    {
        var rangeError = (ErrorConstructor)engine.GetValue("RangeError");
        ObjectInstance arrayPrototype = engine.Intrinsics.Array.PrototypeObject;
        JsValue builtIn = arrayPrototype.Get("concat");
        var guard = new ClrFunction(engine, "concat", (thisObject, arguments) =>
        {
            double total = LengthOf(thisObject);
            foreach (JsValue argument in arguments)
            {
                total += LengthOf(argument);
            }
            if (total > SandboxEngineDefaults.MaxArrayLength)
            {
                throw new JavaScriptException(rangeError, "Invalid array length");
            }
            return engine.Call(builtIn, thisObject, arguments);
        }, 1);
        // Writable, configurable, not enumerable: as the built-in it replaces.
        arrayPrototype.FastSetProperty("concat", new PropertyDescriptor(guard, PropertyFlag.NonEnumerable));
    }

    // What an argument adds to the result: its length if it has one, else one element.
    private static double LengthOf(JsValue value)
    {
        if (value is not ObjectInstance instance)
        {
            return 1;
        }
        double length = TypeConverter.ToNumber(instance.Get("length"));
        return length > 0 ? length : 1;
    }
}

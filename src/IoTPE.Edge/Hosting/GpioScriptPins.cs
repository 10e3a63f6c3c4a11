using IoTPE.Engine.Scripts;
using IoTPE.Gpio;
using IoTPE.Scripting;

namespace IoTPE.Edge.Hosting;

/// <summary>The engine's pin port (<c>gpio.read</c>/<c>gpio.write</c>) over the gateway's <see cref="GpioPins"/>.</summary>
internal sealed class GpioScriptPins(GpioPins pins) : IScriptPins
{
    public int Read(string account, string name)
    {
        try
        {
            return pins.Read(account, name);
        }
        catch (PinAccessException e)
        {
            throw new ScriptHostException("gpio.read: " + e.Message);
        }
    }

    public void Write(string account, string name, int value)
    {
        try
        {
            pins.Write(account, name, value);
        }
        catch (PinAccessException e)
        {
            throw new ScriptHostException("gpio.write: " + e.Message);
        }
    }
}

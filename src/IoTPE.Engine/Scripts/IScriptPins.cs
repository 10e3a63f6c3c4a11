namespace IoTPE.Engine.Scripts;

/// <summary>
/// The gateway's pins as scripts reach them (<c>gpio.read</c>, <c>gpio.write</c>): the engine's port
/// to the GPIO pins, which the host wires in (<see cref="ProcessEngine.Pins"/>). A pin is found by
/// its owning account and its name, so a script only ever reaches its own account's pins.
/// </summary>
public interface IScriptPins
{
    /// <summary>The logical value (0 or 1) of <paramref name="account"/>'s pin <paramref name="name"/>.</summary>
    /// <exception cref="Scripting.ScriptHostException">No such pin of the account, or it is in its error state; the script sees the message.</exception>
    int Read(string account, string name);

    /// <summary>Drives <paramref name="account"/>'s output <paramref name="name"/> to <paramref name="value"/> (0 or 1).</summary>
    /// <exception cref="Scripting.ScriptHostException">No such pin of the account, an input, or in its error state; the script sees the message.</exception>
    void Write(string account, string name, int value);
}

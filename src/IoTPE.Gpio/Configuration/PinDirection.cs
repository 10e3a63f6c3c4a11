namespace IoTPE.Gpio.Configuration;

/// <summary>Whether a pin is read or driven.</summary>
public enum PinDirection
{
    /// <summary>Read: its edges are reported and may run a script.</summary>
    Input,

    /// <summary>Driven by scripts and by <c>/&lt;account&gt;/gpio/&lt;name&gt;/set</c>.</summary>
    Output,
}

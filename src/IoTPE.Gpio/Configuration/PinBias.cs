namespace IoTPE.Gpio.Configuration;

/// <summary>The internal resistor of an input line.</summary>
public enum PinBias
{
    /// <summary>No resistor: the circuit defines the level.</summary>
    None,

    /// <summary>Pulled to 3.3 V: a button to ground reads 0 (1 with <see cref="PinSettings.ActiveLow"/>) when pressed.</summary>
    PullUp,

    /// <summary>Pulled to ground.</summary>
    PullDown,
}

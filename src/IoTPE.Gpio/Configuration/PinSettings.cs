namespace IoTPE.Gpio.Configuration;

/// <summary>One named pin of the <c>gpio</c> section: which line of which chip, how it is used, and whose it is.</summary>
/// <example>
/// <code>
/// { "name": "button", "account": "acme", "chip": 0, "line": 27, "direction": "input", "bias": "pullUp",
///   "activeLow": true, "debounceMilliseconds": 20, "maxEdgesPerSecond": 10, "onEdge": "button-pressed" }
/// { "name": "led", "account": "acme", "chip": 0, "line": 17, "direction": "output", "initialValue": 0, "safeValue": 0 }
/// </code>
/// </example>
public sealed class PinSettings
{
    /// <summary>The pin's name within its account: the last level of <c>/&lt;account&gt;/gpio/&lt;name&gt;</c>.</summary>
    public string? Name { get; set; }

    /// <summary>The account the pin belongs to: only it (and those it grants its topics) reaches the pin.</summary>
    public string? Account { get; set; }

    /// <summary>The GPIO chip's number (<c>/dev/gpiochip&lt;N&gt;</c>; 0 on a Raspberry Pi up to 4, 0 or 4 on a Pi 5 depending on the kernel).</summary>
    public int Chip { get; set; }

    /// <summary>The line's offset on its chip (on a Raspberry Pi, the BCM GPIO number).</summary>
    public int? Line { get; set; }

    /// <summary>Input or output; required.</summary>
    public PinDirection? Direction { get; set; }

    /// <summary>The internal resistor of an input (default none). Not for outputs.</summary>
    public PinBias? Bias { get; set; }

    /// <summary>The logical value 1 is the low level (a button to ground with a pull-up, an LED to 3.3 V). Default false.</summary>
    public bool ActiveLow { get; set; }

    /// <summary>An input's level must hold this long before an edge counts (default 0: every edge counts). At most 10000.</summary>
    public int? DebounceMilliseconds { get; set; }

    /// <summary>
    /// Most edges of an input reported per second (default 20); edges beyond it within a second are
    /// coalesced into one report of the level at the end of that second, counted in <c>$SYS</c> and logged.
    /// </summary>
    public int? MaxEdgesPerSecond { get; set; }

    /// <summary>A stored script of the pin's account run on every reported edge of an input, with <c>message.gpio</c>.</summary>
    public string? OnEdge { get; set; }

    /// <summary>An output's logical value when iotpe starts (default 0).</summary>
    public int? InitialValue { get; set; }

    /// <summary>An output's logical value when iotpe stops (default: <see cref="InitialValue"/>).</summary>
    public int? SafeValue { get; set; }

    /// <summary>The default of <see cref="MaxEdgesPerSecond"/>.</summary>
    public const int DefaultMaxEdgesPerSecond = 20;

    /// <summary>The level an output starts at.</summary>
    public bool InitialOn => InitialValue == 1;

    /// <summary>The level an output goes to when iotpe stops.</summary>
    public bool SafeOn => (SafeValue ?? InitialValue) == 1;
}

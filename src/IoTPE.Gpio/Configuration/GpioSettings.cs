namespace IoTPE.Gpio.Configuration;

/// <summary>
/// The <c>gpio</c> section of the configuration file: the gateway's named pins. A pin belongs to
/// exactly one account; a line given twice, an unknown account or an impossible combination stops
/// <c>iotpe run</c> with a message naming the pin.
/// </summary>
public sealed class GpioSettings
{
    /// <summary>The pins; none by default (then nothing touches a GPIO chip).</summary>
    public List<PinSettings> Pins { get; set; } = [];

    /// <summary>Checks every pin on its own and against the others.</summary>
    /// <param name="accountExists">Whether an account of that name exists.</param>
    /// <exception cref="GpioConfigurationException">A pin cannot work as written; the message names it.</exception>
    public void Validate(Func<string, bool> accountExists)
    {
        ArgumentNullException.ThrowIfNull(accountExists);
        var names = new HashSet<(string, string)>();
        var lines = new Dictionary<(int, int), string>();
        for (int i = 0; i < Pins.Count; i++)
        {
            PinSettings pin = Pins[i] ?? throw new GpioConfigurationException($"gpio.pins[{i}] is null");
            string where = pin.Name is { Length: > 0 } ? $"gpio pin '{pin.Name}'" : $"gpio.pins[{i}]";
            if (!IsTopicLevel(pin.Name))
            {
                throw new GpioConfigurationException($"{where}: name must be a non-empty topic level (no '/', '+', '#')");
            }
            if (!IsTopicLevel(pin.Account))
            {
                throw new GpioConfigurationException($"{where}: account is required");
            }
            if (!accountExists(pin.Account!))
            {
                throw new GpioConfigurationException($"{where}: unknown account '{pin.Account}' (create it with iotpe account add)");
            }
            if (!names.Add((pin.Account!, pin.Name!)))
            {
                throw new GpioConfigurationException($"{where}: account {pin.Account} has two pins of this name");
            }
            if (pin.Chip < 0 || pin.Line is not { } line || line < 0)
            {
                throw new GpioConfigurationException($"{where}: chip and line must be given, and not negative");
            }
            if (lines.TryGetValue((pin.Chip, line), out string? other))
            {
                throw new GpioConfigurationException($"{where}: chip {pin.Chip} line {line} is also pin '{other}'; a line can be one pin only");
            }
            lines.Add((pin.Chip, line), pin.Name!);
            switch (pin.Direction)
            {
                case PinDirection.Input:
                    if (pin.InitialValue is not null || pin.SafeValue is not null)
                    {
                        throw new GpioConfigurationException($"{where}: an input has no initialValue or safeValue");
                    }
                    if (pin.DebounceMilliseconds is < 0 or > 10_000)
                    {
                        throw new GpioConfigurationException($"{where}: debounceMilliseconds must be 0 to 10000, not {pin.DebounceMilliseconds}");
                    }
                    if (pin.MaxEdgesPerSecond is < 1 or > 1000)
                    {
                        throw new GpioConfigurationException($"{where}: maxEdgesPerSecond must be 1 to 1000, not {pin.MaxEdgesPerSecond}");
                    }
                    if (pin.OnEdge is not null && !IsTopicLevel(pin.OnEdge))
                    {
                        throw new GpioConfigurationException($"{where}: onEdge must name a stored script of {pin.Account}");
                    }
                    break;
                case PinDirection.Output:
                    if (pin.Bias is not null and not PinBias.None)
                    {
                        throw new GpioConfigurationException($"{where}: an output has no bias (pull-up/down is for inputs)");
                    }
                    if (pin.DebounceMilliseconds is not null || pin.MaxEdgesPerSecond is not null || pin.OnEdge is not null)
                    {
                        throw new GpioConfigurationException($"{where}: debounceMilliseconds, maxEdgesPerSecond and onEdge are for inputs, not outputs");
                    }
                    if (pin.InitialValue is not (null or 0 or 1) || pin.SafeValue is not (null or 0 or 1))
                    {
                        throw new GpioConfigurationException($"{where}: initialValue and safeValue must be 0 or 1");
                    }
                    break;
                default:
                    throw new GpioConfigurationException($"{where}: direction must be input or output");
            }
        }
    }

    private static bool IsTopicLevel(string? value) =>
        value is { Length: > 0 and <= 128 } && value.AsSpan().IndexOfAny("/+#\0") < 0;
}

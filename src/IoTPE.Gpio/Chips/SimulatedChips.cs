using System.Collections.Concurrent;
using System.Device.Gpio;

namespace IoTPE.Gpio.Chips;

/// <summary>Simulated chips, one <see cref="SimulatedGpioDriver"/> per chip number, created when first opened.</summary>
public sealed class SimulatedChips : IGpioDriverSource
{
    private readonly ConcurrentDictionary<int, SimulatedGpioDriver> _chips = new();
    private readonly HashSet<int> _absent = [];

    /// <summary>Makes chip <paramref name="chip"/> absent: opening it fails as libgpiod does without the chip.</summary>
    public void MakeAbsent(int chip) => _absent.Add(chip);

    /// <summary>The simulated chip <paramref name="chip"/>.</summary>
    public SimulatedGpioDriver Chip(int chip) => _chips.GetOrAdd(chip, n => new SimulatedGpioDriver(n));

    /// <inheritdoc/>
    public GpioDriver Open(int chip)
    {
        if (_absent.Contains(chip))
        {
            throw new IOException($"Unable to find a chip {chip}");
        }
        return Chip(chip);
    }
}

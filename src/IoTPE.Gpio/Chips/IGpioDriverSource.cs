using System.Device.Gpio;

namespace IoTPE.Gpio.Chips;

/// <summary>Opens the driver of one GPIO chip: libgpiod on a gateway, a simulated chip in tests.</summary>
public interface IGpioDriverSource
{
    /// <summary>The driver of chip <paramref name="chip"/> (<c>/dev/gpiochip&lt;N&gt;</c>).</summary>
    /// <exception cref="Exception">The chip cannot be opened; <see cref="GpioFailure.DescribeChip"/> says why for a person.</exception>
    GpioDriver Open(int chip);
}

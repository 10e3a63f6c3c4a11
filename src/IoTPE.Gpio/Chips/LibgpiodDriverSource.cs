using System.Device.Gpio;
using System.Device.Gpio.Drivers;

namespace IoTPE.Gpio.Chips;

/// <summary>
/// The real chips through libgpiod: <c>libgpiod.so.2</c> (libgpiod 1.6, Debian's and Raspberry Pi
/// OS Bookworm's <c>libgpiod2</c>) first, then <c>libgpiod.so.3</c> (libgpiod 2.x), as
/// <c>new GpioController()</c> would pick, but for a given chip number.
/// </summary>
public sealed class LibgpiodDriverSource : IGpioDriverSource
{
    /// <inheritdoc/>
    public GpioDriver Open(int chip)
    {
        try
        {
            return new LibGpiodDriver(chip);
        }
        catch (Exception v1) when (GpioFailure.IsLibraryMissing(v1))
        {
            try
            {
                return new LibGpiodV2Driver(chip);
            }
            catch (Exception v2) when (GpioFailure.IsLibraryMissing(v2))
            {
                throw v1; // neither library: the first one is the one to install
            }
        }
    }
}

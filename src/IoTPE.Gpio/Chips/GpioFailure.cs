using System.Device.Gpio.Drivers;

namespace IoTPE.Gpio.Chips;

/// <summary>Turns what System.Device.Gpio and libgpiod throw into one sentence naming the cause and what to install or check.</summary>
public static class GpioFailure
{
    /// <summary>Whether <paramref name="error"/> says that libgpiod could not be loaded.</summary>
    public static bool IsLibraryMissing(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            // LibGpiodDriver checks for the library itself and throws PlatformNotSupportedException
            // ("Libgpiod driver not installed"); the V2 driver and GpioController surface the loader's
            // DllNotFoundException, wrapped in a GpiodException (both seen with System.Device.Gpio 4.2).
            if (e is DllNotFoundException or EntryPointNotFoundException ||
                (e is PlatformNotSupportedException && e.Message.Contains("not installed", StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Why chip <paramref name="chip"/> could not be opened, for the log and the pins' error state.</summary>
    public static string DescribeChip(int chip, Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (IsLibraryMissing(error))
        {
            return "libgpiod is not installed (System.Device.Gpio loads libgpiod.so.2 or libgpiod.so.3): apt install libgpiod2";
        }
        if (error is UnauthorizedAccessException || Mentions(error, "ermission denied"))
        {
            return $"no permission to open /dev/gpiochip{chip}: run iotpe as a user in the gpio group";
        }
        return $"no GPIO chip {chip} (/dev/gpiochip{chip}): check the chip number (gpiodetect lists the chips) and that the kernel exposes it ({Innermost(error)})";
    }

    /// <summary>Why a line could not be requested.</summary>
    public static string DescribeLine(int chip, int line, Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (Mentions(error, "busy") || Mentions(error, "EBUSY"))
        {
            return $"chip {chip} line {line} is held by another process (gpioinfo {chip} shows the consumer)";
        }
        return $"chip {chip} line {line} cannot be used: {Innermost(error)}";
    }

    /// <summary>Why a pin stopped working while iotpe ran (most often: the chip was unplugged).</summary>
    public static string DescribeLost(int chip, Exception error) =>
        $"chip {chip} no longer answers (unplugged?): {Innermost(error)}; restart iotpe once it is back";

    private static bool Mentions(Exception error, string text)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e.Message.Contains(text, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static string Innermost(Exception error)
    {
        Exception e = error;
        while (e.InnerException is not null && e is GpiodException or TypeInitializationException)
        {
            e = e.InnerException;
        }
        return e.Message;
    }
}

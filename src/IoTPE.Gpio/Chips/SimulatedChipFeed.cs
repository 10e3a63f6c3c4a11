using System.Globalization;

namespace IoTPE.Gpio.Chips;

/// <summary>
/// TEST ONLY: drives <see cref="SimulatedChips"/> from a FIFO (<c>mkfifo</c>), so that tests of the published
/// binary (and the latency benchmark) can make edges. <c>IOTPE_GPIO_SIMULATED=/path/to/fifo iotpe run ...</c>
/// selects the simulated chips and reads commands from that path, one per line:
/// <c>drive &lt;chip&gt; &lt;line&gt; &lt;0|1&gt;</c> sets an input line's physical level (an edge when it changes);
/// <c>unplug &lt;chip&gt;</c> makes the chip fail from then on as an unplugged one does.
/// When the writer closes, the FIFO is opened again for the next writer (a regular file would be read
/// again from its start: use a FIFO). Never set on a gateway.
/// </summary>
public sealed class SimulatedChipFeed
{
    /// <summary>The environment variable that selects the simulated chips and names the command path.</summary>
    public const string EnvironmentVariable = "IOTPE_GPIO_SIMULATED";

    private readonly SimulatedChips _chips;
    private readonly string _path;

    private SimulatedChipFeed(SimulatedChips chips, string path)
    {
        _chips = chips;
        _path = path;
    }

    /// <summary>Starts reading <paramref name="path"/> on a background thread (a FIFO blocks until a writer opens it).</summary>
    public static void Start(SimulatedChips chips, string path)
    {
        var feed = new SimulatedChipFeed(chips, path);
        new Thread(feed.Run) { IsBackground = true, Name = "gpio-simulated-feed" }.Start();
    }

    private void Run()
    {
        while (true)
        {
            try
            {
                using var reader = new StreamReader(new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1));
                while (reader.ReadLine() is { } line)
                {
                    Apply(line);
                }
            }
            catch (IOException)
            {
                // Not there yet, or gone: try again shortly.
            }
            catch (UnauthorizedAccessException)
            {
            }
            Thread.Sleep(20); // a regular file at its end, or no writer any more: open again
        }
    }

    /// <summary>Applies one command line; false when it is not one.</summary>
    public bool Apply(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        switch (words)
        {
            case ["drive", var chip, var offset, var level] when Number(chip) is { } c && Number(offset) is { } l && level is "0" or "1":
                _chips.Chip(c).Drive(l, level == "1" ? System.Device.Gpio.PinValue.High : System.Device.Gpio.PinValue.Low);
                return true;
            case ["unplug", var chip] when Number(chip) is { } c:
                _chips.Chip(c).Unplug();
                return true;
            default:
                return false;
        }
    }

    private static int? Number(string text) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;
}

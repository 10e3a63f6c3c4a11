using System.Device.Gpio;
using IoTPE.Gpio.Chips;
using IoTPE.TestSupport;

namespace IoTPE.Gpio.Tests;

public class SimulatedChipFeedTests
{
    [Fact]
    public async Task Commands_drive_lines_and_unplug_chips_and_anything_else_is_ignored()
    {
        var chips = new SimulatedChips();
        string fifo = Path.Combine(Path.GetTempPath(), "iotpe-feed-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(0, (await ProcessRun.RunAsync("mkfifo", [fifo])).ExitCode);
        try
        {
            SimulatedChipFeed.Start(chips, fifo);
            await using (var writer = new StreamWriter(new FileStream(fifo, FileMode.Open, FileAccess.Write)))
            {
                await writer.WriteAsync("drive 0 27 1\nnonsense\ndrive 0 x 1\ndrive 1 3 1\nunplug 1\n");
            }
            DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (DateTime.UtcNow < deadline && !Unplugged(chips.Chip(1)))
            {
                await Task.Delay(5);
            }
            Assert.Equal(PinValue.High, chips.Chip(0).Level(27));
            Assert.Equal(PinValue.High, chips.Chip(1).Level(3));
            Assert.True(Unplugged(chips.Chip(1)));
            Assert.False(Unplugged(chips.Chip(0)));
        }
        finally
        {
            File.Delete(fifo);
        }
    }

    private static bool Unplugged(SimulatedGpioDriver chip) => chip.IsUnplugged;
}

using System.Device.Gpio;
using IoTPE.Gpio.Chips;
using IoTPE.Gpio.Configuration;
using IoTPE.TestSupport;

namespace IoTPE.Gpio.Tests;

public sealed class GpioPinsTests : IAsyncDisposable
{
    private readonly SimulatedChips _chips = new();
    private readonly ManualClock _clock = new();
    private GpioPins? _pins;

    private static PinSettings Led(bool activeLow = false, int? safe = null) =>
        new() { Name = "led", Account = "acme", Chip = 0, Line = 17, Direction = PinDirection.Output, ActiveLow = activeLow, SafeValue = safe };

    private static PinSettings Button(int debounce = 0, int maxPerSecond = 1000) => new()
    {
        Name = "button", Account = "acme", Chip = 0, Line = 27, Direction = PinDirection.Input, Bias = PinBias.PullUp,
        ActiveLow = true, DebounceMilliseconds = debounce, MaxEdgesPerSecond = maxPerSecond,
    };

    private (GpioPins Pins, PinStateRecorder States) Open(params PinSettings[] settings)
    {
        _pins = new GpioPins(settings, _chips, time: _clock);
        var recorder = new PinStateRecorder(_pins);
        _pins.Open();
        return (_pins, recorder);
    }

    private SimulatedGpioDriver Chip0 => _chips.Chip(0);

    [Fact]
    public async Task An_inputs_edges_are_reported_in_order_as_logical_values()
    {
        (_, PinStateRecorder states) = Open(Button());
        Assert.Equal(0, (await states.WaitForAsync("button", 1))[0].Value); // pulled up, active low: not pressed
        Chip0.Drive(27, PinValue.Low);  // pressed
        Chip0.Drive(27, PinValue.High); // released
        IReadOnlyList<PinState> seen = await states.WaitForAsync("button", 3);
        Assert.Equal([(0, null), (1, "rising"), (0, "falling")], seen.Select(s => (s.Value!.Value, s.Edge)));
        Assert.All(seen, s => Assert.Null(s.Error));
    }

    [Fact]
    public async Task A_bouncing_contact_gives_one_edge_once_it_has_settled()
    {
        (GpioPins pins, PinStateRecorder states) = Open(Button(debounce: 20));
        await states.WaitForAsync("button", 1);
        foreach (PinValue level in new[] { PinValue.Low, PinValue.High, PinValue.Low, PinValue.High, PinValue.Low })
        {
            Chip0.Drive(27, level);
            _clock.Advance(TimeSpan.FromMilliseconds(5));
        }
        Assert.Single(states.Of("button")); // still bouncing: nothing yet
        _clock.Advance(TimeSpan.FromMilliseconds(20));
        IReadOnlyList<PinState> seen = await states.WaitForAsync("button", 2);
        Assert.Equal((1, "rising"), (seen[1].Value!.Value, seen[1].Edge));

        // A glitch that returns to the settled level within the debounce time is no edge at all.
        Chip0.Drive(27, PinValue.High);
        _clock.Advance(TimeSpan.FromMilliseconds(5));
        Chip0.Drive(27, PinValue.Low);
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Equal(1, pins.Read("acme", "button"));
        Assert.Equal(2, states.Of("button").Count);
    }

    [Fact]
    public async Task A_burst_beyond_the_rate_limit_is_coalesced_into_one_report_of_the_final_level_and_counted()
    {
        (GpioPins pins, PinStateRecorder states) = Open(Button(maxPerSecond: 5));
        await states.WaitForAsync("button", 1);
        for (int i = 0; i < 100; i++)
        {
            Chip0.Drive(27, i % 2 == 0 ? PinValue.Low : PinValue.High); // 100 edges at once, ending released
        }
        await states.WaitForAsync("button", 6);
        _clock.Advance(TimeSpan.FromSeconds(1)); // the second ends: the dropped edges are counted and logged once
        Assert.Equal(95, pins.EdgesCoalesced);
        IReadOnlyList<PinState> seen = await states.WaitForAsync("button", 7);
        Assert.Equal(7, seen.Count);
        Assert.Equal((0, "falling", 95), (seen[6].Value!.Value, seen[6].Edge, seen[6].Coalesced));
        Assert.Equal(6, pins.EdgesReported);

        // The next second has its full allowance again.
        Chip0.Drive(27, PinValue.Low);
        Assert.Equal("rising", (await states.WaitForAsync("button", 8))[7].Edge);
    }

    [Fact]
    public async Task A_burst_that_ends_where_it_was_last_reported_adds_no_report()
    {
        (GpioPins pins, PinStateRecorder states) = Open(Button(maxPerSecond: 2));
        await states.WaitForAsync("button", 1);
        for (int i = 0; i < 10; i++)
        {
            Chip0.Drive(27, i % 2 == 0 ? PinValue.Low : PinValue.High); // ends released, the level of the second report
        }
        await states.WaitForAsync("button", 3);
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(8, pins.EdgesCoalesced);
        Assert.Equal(3, states.Of("button").Count);
    }

    [Fact]
    public async Task An_output_starts_at_its_initial_value_and_is_driven_with_active_low_applied()
    {
        (GpioPins pins, PinStateRecorder states) = Open(Led(activeLow: true));
        Assert.Equal(0, (await states.WaitForAsync("led", 1))[0].Value);
        Assert.Equal(PinValue.High, Chip0.Level(17)); // logical 0 of an active-low LED: the line high
        pins.Write("acme", "led", 1);
        Assert.Equal(PinValue.Low, Chip0.Level(17));
        pins.Write("acme", "led", 1); // no change, no new state
        pins.Write("acme", "led", 0);
        IReadOnlyList<PinState> seen = await states.WaitForAsync("led", 3);
        Assert.Equal([(0, null), (1, "rising"), (0, "falling")], seen.Select(s => (s.Value!.Value, s.Edge)));
        Assert.Equal(0, pins.Read("acme", "led"));
    }

    [Fact]
    public void Pins_are_found_only_for_their_owner_and_inputs_are_not_written()
    {
        (GpioPins pins, _) = Open(Led(), Button());
        Assert.Equal("account bob has no pin 'led'", Assert.Throws<PinAccessException>(() => pins.Read("bob", "led")).Message);
        Assert.Equal("account bob has no pin 'led'", Assert.Throws<PinAccessException>(() => pins.Write("bob", "led", 1)).Message);
        Assert.Equal("pin 'button' is an input; only outputs can be written", Assert.Throws<PinAccessException>(() => pins.Write("acme", "button", 1)).Message);
        Assert.Contains("0 or 1", Assert.Throws<PinAccessException>(() => pins.Write("acme", "led", 2)).Message);
        Assert.Equal(PinValue.Low, Chip0.Level(17));
    }

    [Fact]
    public async Task An_unplugged_chip_puts_its_pins_into_the_error_state_on_the_next_access_or_check()
    {
        (GpioPins pins, PinStateRecorder states) = Open(Led(), Button());
        await states.WaitForAsync("button", 1);
        Chip0.Unplug();
        string message = Assert.Throws<PinAccessException>(() => pins.Write("acme", "led", 1)).Message;
        Assert.Contains("chip 0 no longer answers (unplugged?)", message);
        PinState led = (await states.WaitForAsync("led", 2))[1];
        Assert.Null(led.Value);
        Assert.Contains("no longer answers", led.Error);

        _clock.Advance(TimeSpan.FromSeconds(1)); // the periodic check finds the input's chip gone too
        PinState button = (await states.WaitForAsync("button", 2))[1];
        Assert.Contains("chip 0 no longer answers", button.Error);
        Assert.Throws<PinAccessException>(() => pins.Read("acme", "button"));
    }

    [Fact]
    public async Task A_missing_chip_or_a_busy_line_fails_only_its_own_pins()
    {
        _chips.MakeAbsent(1);
        Chip0.HoldElsewhere(27);
        PinSettings remote = Led();
        remote.Name = "remote";
        remote.Chip = 1;
        (GpioPins pins, PinStateRecorder states) = Open(Led(), Button(), remote);
        Assert.Contains("no GPIO chip 1 (/dev/gpiochip1)", (await states.WaitForAsync("remote", 1))[0].Error);
        Assert.Equal("chip 0 line 27 is held by another process (gpioinfo 0 shows the consumer)", (await states.WaitForAsync("button", 1))[0].Error);
        Assert.Null((await states.WaitForAsync("led", 1))[0].Error);
        pins.Write("acme", "led", 1);
        Assert.Equal(PinValue.High, Chip0.Level(17));
        Assert.Contains("error state: chip 0 line 27 is held", Assert.Throws<PinAccessException>(() => pins.Read("acme", "button")).Message);
    }

    [Fact]
    public async Task Disposing_drives_outputs_to_their_safe_value_and_reports_it()
    {
        (GpioPins pins, PinStateRecorder states) = Open(Led(safe: 0));
        pins.Write("acme", "led", 1);
        Assert.Equal(PinValue.High, Chip0.Level(17));
        await pins.DisposeAsync();
        Assert.Equal(PinValue.Low, Chip0.Level(17));
        Assert.Equal([0, 1, 0], states.Of("led").Select(s => s.Value!.Value));
    }

    [Fact]
    public async Task The_real_driver_on_a_machine_without_a_chip_says_what_to_install_or_check()
    {
        // This machine has no GPIO chip; whether libgpiod is installed decides which failure is real here.
        bool libgpiodInstalled = await LibgpiodInstalledAsync();
        Exception error = Assert.ThrowsAny<Exception>(() => new LibgpiodDriverSource().Open(0));
        string cause = GpioFailure.DescribeChip(0, error);
        Assert.Contains(libgpiodInstalled ? "no GPIO chip 0" : "libgpiod is not installed (System.Device.Gpio loads libgpiod.so.2 or libgpiod.so.3): apt install libgpiod2", cause);

        _pins = new GpioPins([Led(), Button()], new LibgpiodDriverSource());
        var states = new PinStateRecorder(_pins);
        _pins.Open();
        Assert.Equal(cause, (await states.WaitForAsync("led", 1))[0].Error);
        Assert.Equal(cause, (await states.WaitForAsync("button", 1))[0].Error);
        Assert.Contains(cause, Assert.Throws<PinAccessException>(() => _pins.Write("acme", "led", 1)).Message);
    }

    private static async Task<bool> LibgpiodInstalledAsync()
    {
        ProcessRun run = await ProcessRun.RunAsync("/sbin/ldconfig", ["-p"], TimeSpan.FromSeconds(30));
        return run.StandardOutput.Contains("libgpiod.so.2", StringComparison.Ordinal) || run.StandardOutput.Contains("libgpiod.so.3", StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        if (_pins is not null)
        {
            await _pins.DisposeAsync();
        }
    }
}

using IoTPE.Gpio.Configuration;

namespace IoTPE.Gpio.Tests;

public class GpioSettingsTests
{
    private static readonly Func<string, bool> AcmeAndBob = a => a is "acme" or "bob";

    private static PinSettings Led() => new() { Name = "led", Account = "acme", Chip = 0, Line = 17, Direction = PinDirection.Output };

    private static PinSettings Button() => new()
    {
        Name = "button", Account = "acme", Chip = 0, Line = 27, Direction = PinDirection.Input, Bias = PinBias.PullUp,
        ActiveLow = true, DebounceMilliseconds = 20, MaxEdgesPerSecond = 10, OnEdge = "pressed",
    };

    private static string Refusal(params PinSettings[] pins) =>
        Assert.Throws<GpioConfigurationException>(() => new GpioSettings { Pins = [.. pins] }.Validate(AcmeAndBob)).Message;

    [Fact]
    public void A_sound_configuration_passes() => new GpioSettings { Pins = [Led(), Button()] }.Validate(AcmeAndBob);

    [Fact]
    public void A_line_given_twice_names_both_pins()
    {
        PinSettings other = Button();
        other.Line = 17;
        string message = Refusal(Led(), other);
        Assert.Contains("gpio pin 'button'", message);
        Assert.Contains("chip 0 line 17 is also pin 'led'", message);
    }

    [Fact]
    public void The_same_line_number_on_another_chip_is_another_line()
    {
        PinSettings other = Button();
        other.Line = 17;
        other.Chip = 1;
        new GpioSettings { Pins = [Led(), other] }.Validate(AcmeAndBob);
    }

    [Fact]
    public void An_unknown_account_is_named()
    {
        PinSettings led = Led();
        led.Account = "carol";
        Assert.Equal("gpio pin 'led': unknown account 'carol' (create it with iotpe account add)", Refusal(led));
    }

    [Fact]
    public void Two_pins_of_one_account_cannot_share_a_name_but_two_accounts_can()
    {
        PinSettings second = Led();
        second.Line = 18;
        Assert.Contains("account acme has two pins of this name", Refusal(Led(), second));
        second.Account = "bob";
        new GpioSettings { Pins = [Led(), second] }.Validate(AcmeAndBob);
    }

    [Theory]
    [InlineData("bias", "an output has no bias")]
    [InlineData("debounce", "are for inputs, not outputs")]
    [InlineData("onEdge", "are for inputs, not outputs")]
    [InlineData("initialValue", "initialValue and safeValue must be 0 or 1")]
    public void Impossible_outputs_are_refused(string setting, string expected)
    {
        PinSettings led = Led();
        switch (setting)
        {
            case "bias": led.Bias = PinBias.PullUp; break;
            case "debounce": led.DebounceMilliseconds = 10; break;
            case "onEdge": led.OnEdge = "x"; break;
            default: led.InitialValue = 2; break;
        }
        string message = Refusal(led);
        Assert.StartsWith("gpio pin 'led': ", message);
        Assert.Contains(expected, message);
    }

    [Theory]
    [InlineData("initialValue", "an input has no initialValue or safeValue")]
    [InlineData("debounce", "debounceMilliseconds must be 0 to 10000")]
    [InlineData("rate", "maxEdgesPerSecond must be 1 to 1000")]
    [InlineData("direction", "direction must be input or output")]
    [InlineData("name", "name must be a non-empty topic level")]
    [InlineData("line", "chip and line must be given")]
    public void Impossible_inputs_are_refused(string setting, string expected)
    {
        PinSettings button = Button();
        switch (setting)
        {
            case "initialValue": button.InitialValue = 1; break;
            case "debounce": button.DebounceMilliseconds = -1; break;
            case "rate": button.MaxEdgesPerSecond = 0; break;
            case "direction": button.Direction = null; break;
            case "name": button.Name = "a/b"; break;
            default: button.Line = null; break;
        }
        Assert.Contains(expected, Refusal(button));
    }
}

using IoTPE.Engine;
using IoTPE.Engine.Scripts;
using IoTPE.Gpio;
using IoTPE.Gpio.Chips;
using IoTPE.Gpio.Configuration;
using IoTPE.Gpio.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Edge.Hosting;

/// <summary>
/// The pins of the configuration's <c>gpio</c> section in <c>iotpe run</c>: the chips (libgpiod, or the
/// test-only simulation selected by <see cref="SimulatedChipFeed.EnvironmentVariable"/>), the pins'
/// MQTT topics, scripts' <c>gpio</c> functions and <c>onEdge</c> runs. Without pins it does nothing
/// and touches no chip.
/// </summary>
internal sealed class GpioHost : IAsyncDisposable
{
    private readonly GpioPins _pins;
    private readonly ProcessEngine _engine;
    private readonly ILogger _log;
    private GpioMqttBridge? _bridge;

    private GpioHost(GpioPins pins, ProcessEngine engine, ILogger log)
    {
        _pins = pins;
        _engine = engine;
        _log = log;
    }

    /// <summary>The pins for <paramref name="engine"/>'s scripts; null when the configuration has none. Call before the engine is attached.</summary>
    public static GpioHost? Create(GpioSettings settings, ProcessEngine engine, ILogger log)
    {
        if (settings.Pins.Count == 0)
        {
            return null;
        }
        IGpioDriverSource chips = new LibgpiodDriverSource();
        if (Environment.GetEnvironmentVariable(SimulatedChipFeed.EnvironmentVariable) is { Length: > 0 } feed)
        {
            var simulated = new SimulatedChips();
            SimulatedChipFeed.Start(simulated, feed);
            chips = simulated;
            log.GpioSimulated(feed, SimulatedChipFeed.EnvironmentVariable);
        }
        // The pins' check and the $SYS counters wake the process with its other periodic work.
        var pins = new GpioPins(settings.Pins, chips, log) { Ticker = engine.Ticker };
        engine.Pins = new GpioScriptPins(pins);
        return new GpioHost(pins, engine, log);
    }

    /// <summary>Publishes the pins' states, takes set requests and runs <c>onEdge</c> scripts. Call after the engine is attached.</summary>
    public void Start(Broker.Broker broker)
    {
        _bridge = new GpioMqttBridge(_pins, broker, _log) { Ticker = _engine.Ticker };
        _bridge.Start();
        _pins.Changed += RunOnEdge;
        _pins.Open();
    }

    private void RunOnEdge(PinState state)
    {
        if (state is { Edge: { } edge, Value: { } value, Direction: PinDirection.Input } && _pins.Find(state.Account, state.Name)?.OnEdge is { } script)
        {
            _engine.RunOnPinEdge(new PinEdge(state.Account, script, state.Name, value, edge, state.Timestamp));
        }
    }

    /// <summary>Stops taking set requests, then drives the outputs to their safe values (published while the broker still runs).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_bridge is not null)
        {
            await _bridge.DisposeAsync().ConfigureAwait(false);
        }
        await _pins.DisposeAsync().ConfigureAwait(false);
        if (_bridge is not null)
        {
            await _bridge.WhenPublishedAsync().ConfigureAwait(false);
        }
    }
}

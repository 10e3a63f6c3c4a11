using System.Device.Gpio;
using System.Threading.Channels;
using IoTPE.Gpio.Chips;
using IoTPE.Gpio.Configuration;
using IoTPE.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPE.Gpio;

/// <summary>
/// The gateway's configured pins: opens their chips and lines, reads and drives them for their
/// owning account only, reports every change (debounced and rate-limited for inputs) through
/// <see cref="Changed"/>, and drives outputs to their safe values when disposed.
/// </summary>
/// <remarks>
/// Failure stays local: a missing libgpiod, a missing chip or a line held by another process puts
/// the pins concerned into their error state with one log line naming the cause, and the others
/// keep working; a chip that stops answering while iotpe runs (unplugged) is found by the next
/// access or by the periodic check, whichever comes first.
/// </remarks>
public sealed class GpioPins : IAsyncDisposable
{
    private readonly Dictionary<(string Account, string Name), GpioPin> _pins = [];
    private readonly List<GpioController> _controllers = [];
    private readonly IGpioDriverSource _chips;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly TimeSpan _checkInterval;
    private readonly Channel<PinState> _changes = Channel.CreateUnbounded<PinState>(new UnboundedChannelOptions { SingleReader = true });
    private Task? _consumer;
    private PeriodicWork? _checker;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string), bool> _errorLogged = new();
    private long _coalesced;
    private long _reported;
    private bool _disposed;

    /// <param name="pins">The pins, validated (<see cref="GpioSettings.Validate"/>).</param>
    /// <param name="chips">Where the chips' drivers come from.</param>
    /// <param name="log">Where log lines go.</param>
    /// <param name="time">The clock.</param>
    /// <param name="checkInterval">How often each working pin is read to find a chip that stopped answering (default 1 s).</param>
    public GpioPins(IEnumerable<PinSettings> pins, IGpioDriverSource chips, ILogger? log = null, TimeProvider? time = null, TimeSpan? checkInterval = null)
    {
        ArgumentNullException.ThrowIfNull(pins);
        ArgumentNullException.ThrowIfNull(chips);
        _chips = chips;
        _log = log ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _checkInterval = checkInterval ?? TimeSpan.FromSeconds(1);
        foreach (PinSettings settings in pins)
        {
            _pins.Add((settings.Account!, settings.Name!), new GpioPin(settings, _time, OnChanged, OnCoalesced));
        }
    }

    /// <summary>
    /// Where the periodic check of the working pins runs: at this ticker's ticks (its period, not
    /// <c>checkInterval</c>), in the one wake-up the process's other periodic work shares. Without it the
    /// check has a .NET timer of its own, and each tick of one wakes about four threads. Set before <see cref="Open"/>.
    /// </summary>
    public Ticker? Ticker { get; init; }

    /// <summary>
    /// Every new state of a pin, in order, on the pins' own task (never on a driver's thread): the
    /// state at start (or the error state), each reported edge of an input, each change of an output.
    /// Subscribe before <see cref="Open"/>.
    /// </summary>
    public event Action<PinState>? Changed;

    /// <summary>Edges dropped by the pins' rate limits so far (each counted once).</summary>
    public long EdgesCoalesced => Interlocked.Read(ref _coalesced);

    /// <summary>Edges of inputs reported so far.</summary>
    public long EdgesReported => Interlocked.Read(ref _reported);

    /// <summary>Opens every chip and line; the pins that cannot be opened enter their error state (logged once per cause).</summary>
    public void Open()
    {
        _consumer = Task.Run(ConsumeAsync);
        foreach (IGrouping<int, GpioPin> chip in _pins.Values.GroupBy(p => p.Chip).OrderBy(g => g.Key))
        {
            GpioController controller;
            try
            {
                controller = new GpioController(_chips.Open(chip.Key));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                string cause = GpioFailure.DescribeChip(chip.Key, e);
                _log.PinsFailed(cause, string.Join(", ", chip.Select(p => p.Account + "/" + p.Name)));
                foreach (GpioPin pin in chip)
                {
                    _errorLogged.TryAdd((pin.Account, pin.Name), true); // one line for the chip, not one per pin
                    pin.Fail(cause);
                }
                continue;
            }
            _controllers.Add(controller);
            foreach (GpioPin pin in chip)
            {
                pin.Open(controller); // a line that cannot be used is logged as its error state is delivered
            }
        }
        string ready = string.Join(", ", _pins.Values.Where(p => p.Error is null).Select(p => $"{p.Account}/{p.Name}"));
        if (ready.Length > 0)
        {
            _log.PinsReady(_pins.Values.Count(p => p.Error is null), ready);
        }
        _checker = new PeriodicWork(CheckWorkingPins, Ticker, _checkInterval, _time);
    }

    /// <summary>The settings of the pin <paramref name="name"/> of <paramref name="account"/>, or null.</summary>
    public PinSettings? Find(string account, string name) => _pins.TryGetValue((account, name), out GpioPin? pin) ? pin.Settings : null;

    /// <summary>Reads the logical value (0 or 1) of <paramref name="account"/>'s pin <paramref name="name"/>.</summary>
    /// <exception cref="PinAccessException">The account has no such pin, or it is in its error state.</exception>
    public int Read(string account, string name) => PinOf(account, name).Read();

    /// <summary>Drives <paramref name="account"/>'s output <paramref name="name"/> to <paramref name="value"/> (0 or 1, logical).</summary>
    /// <exception cref="PinAccessException">The account has no such pin, it is an input, or it is in its error state.</exception>
    public void Write(string account, string name, int value)
    {
        if (value is not (0 or 1))
        {
            throw new PinAccessException($"a pin's value is 0 or 1, not {value}");
        }
        PinOf(account, name).Write(value);
    }

    private GpioPin PinOf(string account, string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Keyed by the owner: another account's pin of the same name is simply not found.
        return _pins.TryGetValue((account, name), out GpioPin? pin)
            ? pin
            : throw new PinAccessException($"account {account} has no pin '{name}'");
    }

    // Under the pin's lock: only queue.
    private void OnChanged(GpioPin pin, PinState state)
    {
        if (state.Edge is not null && !pin.IsOutput)
        {
            Interlocked.Increment(ref _reported);
        }
        _changes.Writer.TryWrite(state);
    }

    private void OnCoalesced(GpioPin pin, int count)
    {
        Interlocked.Add(ref _coalesced, count);
        _log.EdgesCoalesced(pin.Account, pin.Name, count, pin.MaxEdgesPerSecond);
    }

    private async Task ConsumeAsync()
    {
        await foreach (PinState state in _changes.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (state.Error is not null && _errorLogged.TryAdd((state.Account, state.Name), true))
            {
                _log.PinsFailed(state.Error, state.Account + "/" + state.Name);
            }
            try
            {
                Changed?.Invoke(state);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _log.ChangeHandlerFailed(state.Account, state.Name, e); // the next states are still delivered
            }
        }
    }

    // Reads each working pin, so that a chip that stopped answering is found even if nobody uses its pins.
    private void CheckWorkingPins()
    {
        foreach (GpioPin pin in _pins.Values)
        {
            pin.Check();
        }
    }

    /// <summary>Drives every output to its safe value, releases the lines, and delivers the last changes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_checker is not null)
        {
            await _checker.DisposeAsync().ConfigureAwait(false); // once a check under way has ended
        }
        List<string> unsafeOutputs = [.. _pins.Values.Where(p => !p.GoSafe()).Select(p => p.Account + "/" + p.Name)];
        if (unsafeOutputs.Count > 0)
        {
            _log.SafeValueFailed(string.Join(", ", unsafeOutputs) + " did not answer");
        }
        foreach (GpioPin pin in _pins.Values)
        {
            pin.Dispose();
        }
        foreach (GpioController controller in _controllers)
        {
            try
            {
                // Closing an output's line would let it float; the safe value was written just before.
                controller.Dispose();
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or System.Device.Gpio.Drivers.GpiodException)
            {
                // The chip is gone.
            }
        }
        _changes.Writer.TryComplete();
        if (_consumer is not null)
        {
            await _consumer.ConfigureAwait(false);
        }
    }
}

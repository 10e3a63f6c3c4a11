using System.Device.Gpio;
using IoTPE.Gpio.Chips;
using IoTPE.Gpio.Configuration;

namespace IoTPE.Gpio;

/// <summary>
/// One configured pin on its chip's controller: its logical value (active-low applied), its
/// error state, and for an input the <see cref="EdgeFilter"/> its edges go through.
/// </summary>
internal sealed class GpioPin : IDisposable
{
    private readonly object _sync = new();
    private readonly TimeProvider _time;
    private readonly Action<GpioPin, PinState> _changed;
    private readonly Action<GpioPin, int> _coalesced;
    private GpioController? _controller;
    private EdgeFilter? _filter;
    private int? _value;
    private string? _error;

    /// <param name="settings">The pin's validated settings.</param>
    /// <param name="time">The clock (debounce, rate limit, timestamps).</param>
    /// <param name="changed">Receives every new state, in order, under the pin's lock: queue it and return.</param>
    /// <param name="coalesced">Receives the number of edges the rate limit dropped, once per second at most.</param>
    public GpioPin(PinSettings settings, TimeProvider time, Action<GpioPin, PinState> changed, Action<GpioPin, int> coalesced)
    {
        Settings = settings;
        _time = time;
        _changed = changed;
        _coalesced = coalesced;
    }

    public PinSettings Settings { get; }

    public string Account => Settings.Account!;

    public string Name => Settings.Name!;

    public int Chip => Settings.Chip;

    public int Line => Settings.Line!.Value;

    public bool IsOutput => Settings.Direction == PinDirection.Output;

    public int MaxEdgesPerSecond => Settings.MaxEdgesPerSecond ?? PinSettings.DefaultMaxEdgesPerSecond;

    public string? Error
    {
        get
        {
            lock (_sync)
            {
                return _error;
            }
        }
    }

    /// <summary>Requests the line; on failure the pin enters its error state.</summary>
    public void Open(GpioController controller)
    {
        lock (_sync)
        {
            try
            {
                if (IsOutput)
                {
                    controller.OpenPin(Line, PinMode.Output, Physical(Settings.InitialOn));
                    controller.Write(Line, Physical(Settings.InitialOn)); // some drivers ignore the initial value
                    _value = Settings.InitialOn ? 1 : 0;
                }
                else
                {
                    controller.OpenPin(Line, Settings.Bias switch
                    {
                        PinBias.PullUp => PinMode.InputPullUp,
                        PinBias.PullDown => PinMode.InputPullDown,
                        _ => PinMode.Input,
                    });
                    bool level = Logical(controller.Read(Line));
                    _value = level ? 1 : 0;
                    _filter = new EdgeFilter(level, TimeSpan.FromMilliseconds(Settings.DebounceMilliseconds ?? 0), MaxEdgesPerSecond, _time, OnFiltered);
                    controller.RegisterCallbackForPinValueChangedEvent(Line, PinEventTypes.Rising | PinEventTypes.Falling, OnEdge);
                }
                _controller = controller;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _error = GpioFailure.DescribeLine(Chip, Line, e);
                _value = null;
            }
            _changed(this, Snapshot(edge: null, coalesced: 0));
        }
    }

    /// <summary>The chip could not be opened: the pin reports <paramref name="cause"/>.</summary>
    public void Fail(string cause)
    {
        lock (_sync)
        {
            _error = cause;
            _value = null;
            _changed(this, Snapshot(edge: null, coalesced: 0));
        }
    }

    /// <summary>The logical value.</summary>
    /// <exception cref="PinAccessException">The pin is in its error state (or just entered it).</exception>
    public int Read()
    {
        lock (_sync)
        {
            CheckUsable();
            try
            {
                return Logical(_controller!.Read(Line)) ? 1 : 0;
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or System.Device.Gpio.Drivers.GpiodException)
            {
                throw Lost(e);
            }
        }
    }

    /// <summary>Drives an output to <paramref name="value"/> (0 or 1, logical).</summary>
    /// <exception cref="PinAccessException">An input, or the pin is in its error state.</exception>
    public void Write(int value)
    {
        lock (_sync)
        {
            if (!IsOutput)
            {
                throw new PinAccessException($"pin '{Name}' is an input; only outputs can be written");
            }
            CheckUsable();
            try
            {
                _controller!.Write(Line, Physical(value == 1));
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or System.Device.Gpio.Drivers.GpiodException)
            {
                throw Lost(e);
            }
            if (_value != value)
            {
                _value = value;
                _changed(this, Snapshot(value == 1 ? "rising" : "falling", coalesced: 0));
            }
        }
    }

    /// <summary>Reads the line to find out whether the chip still answers; a pin that no longer works enters its error state.</summary>
    public void Check()
    {
        try
        {
            if (Error is null)
            {
                Read();
            }
        }
        catch (PinAccessException)
        {
            // Now in the error state, published and logged.
        }
    }

    /// <summary>Drives an output to its safe value (when iotpe stops); false when the line does not answer.</summary>
    public bool GoSafe()
    {
        lock (_sync)
        {
            if (!IsOutput || _controller is null || _error is not null)
            {
                return true;
            }
            try
            {
                _controller.Write(Line, Physical(Settings.SafeOn));
                int safe = Settings.SafeOn ? 1 : 0;
                if (_value != safe)
                {
                    _value = safe;
                    _changed(this, Snapshot(safe == 1 ? "rising" : "falling", coalesced: 0)); // the retained state says what the line is left at
                }
                return true;
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or System.Device.Gpio.Drivers.GpiodException)
            {
                return false;
            }
        }
    }

    // On the driver's event thread.
    private void OnEdge(object sender, PinValueChangedEventArgs e) =>
        _filter?.OnLevel(Logical(e.ChangeType == PinEventTypes.Rising ? PinValue.High : PinValue.Low));

    // Under the filter's lock, in order.
    private void OnFiltered(FilteredLevel filtered)
    {
        lock (_sync)
        {
            if (_error is not null)
            {
                return;
            }
            if (filtered.Coalesced > 0)
            {
                _coalesced(this, filtered.Coalesced);
            }
            if (filtered.Changed)
            {
                _value = filtered.Level ? 1 : 0;
                _changed(this, Snapshot(filtered.Level ? "rising" : "falling", filtered.Coalesced));
            }
        }
    }

    private void CheckUsable()
    {
        if (_error is not null)
        {
            throw new PinAccessException($"pin '{Name}' is in its error state: {_error}");
        }
    }

    // Under _sync.
    private PinAccessException Lost(Exception e)
    {
        _error = GpioFailure.DescribeLost(Chip, e);
        _value = null;
        _changed(this, Snapshot(edge: null, coalesced: 0));
        return new PinAccessException($"pin '{Name}' is in its error state: {_error}");
    }

    private PinState Snapshot(string? edge, int coalesced) =>
        new(Account, Name, Settings.Direction!.Value, _value, edge, _time.GetUtcNow(), _error, coalesced);

    private PinValue Physical(bool logical) => logical != Settings.ActiveLow ? PinValue.High : PinValue.Low;

    private bool Logical(PinValue physical) => (physical == PinValue.High) != Settings.ActiveLow;

    public void Dispose()
    {
        _filter?.Dispose();
        lock (_sync)
        {
            if (_controller is not null && !IsOutput)
            {
                try
                {
                    _controller.UnregisterCallbackForPinValueChangedEvent(Line, OnEdge);
                }
                catch (Exception e) when (e is IOException or InvalidOperationException or System.Device.Gpio.Drivers.GpiodException)
                {
                    // The chip is gone; nothing to unregister from.
                }
            }
        }
    }
}

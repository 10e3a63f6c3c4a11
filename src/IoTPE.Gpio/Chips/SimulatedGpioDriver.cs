using System.Device.Gpio;

namespace IoTPE.Gpio.Chips;

/// <summary>
/// A GPIO chip in memory, through System.Device.Gpio's own extension point (a <see cref="GpioDriver"/>),
/// for tests and for the published binary's test-only simulation (<see cref="SimulatedChips"/>).
/// Levels are physical (before active-low). <see cref="Drive"/> sets an input's level as the outside
/// world would, and raises the edge callbacks on the calling thread, as libgpiod's event thread does.
/// </summary>
public sealed class SimulatedGpioDriver : GpioDriver
{
    private readonly object _sync = new();
    private readonly Dictionary<int, Line> _lines = [];
    private readonly HashSet<int> _heldElsewhere = [];
    private bool _unplugged;

    /// <param name="chip">The chip's number, for messages.</param>
    /// <param name="lineCount">Lines the chip has.</param>
    public SimulatedGpioDriver(int chip, int lineCount = 64)
    {
        ChipNumber = chip;
        LineCount = lineCount;
    }

    /// <summary>The chip's number.</summary>
    public int ChipNumber { get; }

    /// <summary>Lines the chip has.</summary>
    public int LineCount { get; }

    /// <summary>Every level written to an output line, in order: (line, level).</summary>
    public event Action<int, PinValue>? Written;

    /// <inheritdoc/>
    protected override int PinCount => LineCount;

    /// <summary>Makes <paramref name="line"/> look held by another process: opening it fails with "Device or resource busy".</summary>
    public void HoldElsewhere(int line)
    {
        lock (_sync)
        {
            _heldElsewhere.Add(line);
        }
    }

    /// <summary>From now on every call fails as on a chip that was unplugged.</summary>
    public void Unplug()
    {
        lock (_sync)
        {
            _unplugged = true;
        }
    }

    /// <summary>Whether <see cref="Unplug"/> was called.</summary>
    public bool IsUnplugged
    {
        get
        {
            lock (_sync)
            {
                return _unplugged;
            }
        }
    }

    /// <summary>The level of a line (an output's last written level, an input's driven level).</summary>
    public PinValue Level(int line)
    {
        lock (_sync)
        {
            return _lines.TryGetValue(line, out Line? l) ? l.Level : PinValue.Low;
        }
    }

    /// <summary>Sets an input line's level from outside; a change raises the registered edge callbacks.</summary>
    public void Drive(int line, PinValue level)
    {
        PinChangeEventHandler? handlers;
        PinEventTypes edge;
        lock (_sync)
        {
            if (!_lines.TryGetValue(line, out Line? l))
            {
                l = new Line();
                _lines.Add(line, l);
            }
            if (l.Level == level)
            {
                return;
            }
            l.Level = level;
            edge = level == PinValue.High ? PinEventTypes.Rising : PinEventTypes.Falling;
            handlers = (l.Events & edge) != 0 ? l.Handlers : null;
        }
        handlers?.Invoke(this, new PinValueChangedEventArgs(edge, line));
    }

    /// <inheritdoc/>
    protected override void OpenPin(int pinNumber)
    {
        lock (_sync)
        {
            CheckPlugged();
            if (pinNumber < 0 || pinNumber >= LineCount)
            {
                throw new ArgumentOutOfRangeException(nameof(pinNumber), $"chip {ChipNumber} has lines 0 to {LineCount - 1}");
            }
            if (_heldElsewhere.Contains(pinNumber))
            {
                throw new IOException($"Error while reserving the line {pinNumber}: Device or resource busy");
            }
            if (!_lines.ContainsKey(pinNumber))
            {
                _lines.Add(pinNumber, new Line());
            }
        }
    }

    /// <inheritdoc/>
    protected override void ClosePin(int pinNumber)
    {
        lock (_sync)
        {
            if (_lines.TryGetValue(pinNumber, out Line? l))
            {
                l.Handlers = null;
                l.Events = PinEventTypes.None;
            }
        }
    }

    /// <inheritdoc/>
    protected override void SetPinMode(int pinNumber, PinMode mode)
    {
        lock (_sync)
        {
            CheckPlugged();
            Line l = _lines[pinNumber];
            l.Mode = mode;
            if (mode == PinMode.InputPullUp)
            {
                l.Level = PinValue.High; // nothing connected: the resistor wins
            }
            else if (mode == PinMode.InputPullDown)
            {
                l.Level = PinValue.Low;
            }
        }
    }

    /// <inheritdoc/>
    protected override PinMode GetPinMode(int pinNumber)
    {
        lock (_sync)
        {
            CheckPlugged();
            return _lines[pinNumber].Mode;
        }
    }

    /// <inheritdoc/>
    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;

    /// <inheritdoc/>
    protected override PinValue Read(int pinNumber)
    {
        lock (_sync)
        {
            CheckPlugged();
            return _lines[pinNumber].Level;
        }
    }

    /// <inheritdoc/>
    protected override void Toggle(int pinNumber) => Write(pinNumber, !Read(pinNumber));

    /// <inheritdoc/>
    protected override void Write(int pinNumber, PinValue value)
    {
        lock (_sync)
        {
            CheckPlugged();
            _lines[pinNumber].Level = value;
        }
        Written?.Invoke(pinNumber, value);
    }

    /// <inheritdoc/>
    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the simulated chip reports edges through callbacks only");

    /// <inheritdoc/>
    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback)
    {
        lock (_sync)
        {
            CheckPlugged();
            Line l = _lines[pinNumber];
            l.Events |= eventTypes;
            l.Handlers += callback;
        }
    }

    /// <inheritdoc/>
    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback)
    {
        lock (_sync)
        {
            if (_lines.TryGetValue(pinNumber, out Line? l))
            {
                l.Handlers -= callback;
            }
        }
    }

    /// <inheritdoc/>
    public override GpioChipInfo GetChipInfo() => new(ChipNumber, "gpiochip" + ChipNumber, "iotpe-simulated", LineCount);

    private void CheckPlugged()
    {
        if (_unplugged)
        {
            throw new IOException($"gpiochip{ChipNumber}: No such device");
        }
    }

    private sealed class Line
    {
        public PinMode Mode { get; set; } = PinMode.Input;

        public PinValue Level { get; set; } = PinValue.Low;

        public PinEventTypes Events { get; set; }

        public PinChangeEventHandler? Handlers { get; set; }
    }
}

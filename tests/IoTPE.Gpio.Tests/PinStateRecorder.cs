namespace IoTPE.Gpio.Tests;

/// <summary>Collects the states <see cref="GpioPins.Changed"/> delivers (on the pins' own task) and waits for them.</summary>
internal sealed class PinStateRecorder
{
    private readonly List<PinState> _states = [];

    public PinStateRecorder(GpioPins pins) => pins.Changed += state =>
    {
        lock (_states)
        {
            _states.Add(state);
        }
    };

    public IReadOnlyList<PinState> States
    {
        get
        {
            lock (_states)
            {
                return [.. _states];
            }
        }
    }

    public IReadOnlyList<PinState> Of(string name) => [.. States.Where(s => s.Name == name)];

    /// <summary>Waits until <paramref name="count"/> states of pin <paramref name="name"/> arrived; returns them.</summary>
    public async Task<IReadOnlyList<PinState>> WaitForAsync(string name, int count)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Of(name).Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }
        IReadOnlyList<PinState> states = Of(name);
        Assert.True(states.Count >= count, $"expected {count} states of {name}, got {states.Count}: {string.Join("; ", states)}");
        return states;
    }
}

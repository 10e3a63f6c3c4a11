using IoTPE.Gpio.Configuration;

namespace IoTPE.Gpio;

/// <summary>A pin's state as it is published and handed to scripts.</summary>
/// <param name="Account">The owning account.</param>
/// <param name="Name">The pin's name.</param>
/// <param name="Direction">Input or output.</param>
/// <param name="Value">The logical value (0 or 1, after active-low); null in the error state.</param>
/// <param name="Edge"><c>rising</c> or <c>falling</c> when this state is a change; null for the state at start and in the error state.</param>
/// <param name="Timestamp">When the state was taken.</param>
/// <param name="Error">Why the pin does not work (library, chip, line); null when it works.</param>
/// <param name="Coalesced">Edges of an input dropped by its rate limit just before this state.</param>
public sealed record PinState(string Account, string Name, PinDirection Direction, int? Value, string? Edge, DateTimeOffset Timestamp, string? Error, int Coalesced = 0);

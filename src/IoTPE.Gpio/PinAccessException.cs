namespace IoTPE.Gpio;

/// <summary>A read or write of a pin was refused (no such pin of the account, an input written, a pin in its error state); the message says why.</summary>
public sealed class PinAccessException(string message) : Exception(message);

namespace IoTPE.Gpio.Configuration;

/// <summary>The <c>gpio</c> section cannot work as written; the message names the pin and the setting.</summary>
public sealed class GpioConfigurationException(string message) : Exception(message);

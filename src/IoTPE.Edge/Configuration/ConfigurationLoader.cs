using System.Text.Json;
using IoTPE.Broker;

namespace IoTPE.Edge.Configuration;

/// <summary>Reads the configuration file and applies command-line overrides.</summary>
internal static class ConfigurationLoader
{
    /// <summary>Reads <paramref name="path"/>, or returns the defaults when it is null.</summary>
    /// <exception cref="ConfigurationException">The file is missing or not valid configuration.</exception>
    public static IotpeConfiguration Load(string? path)
    {
        if (path is null)
        {
            return new IotpeConfiguration();
        }
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"cannot read the configuration file {path}: {e.Message}");
        }
        try
        {
            return JsonSerializer.Deserialize(json, IotpeJsonContext.Default.IotpeConfiguration)
                ?? throw new ConfigurationException($"{path}: the configuration is empty");
        }
        catch (JsonException e)
        {
            throw new ConfigurationException($"{path}: {e.Message}");
        }
    }

    /// <summary>
    /// Parses <c>HOST:PORT</c> (IPv6 as <c>[::1]:1883</c>) into a plain MQTT listener.
    /// </summary>
    public static ListenerOptions ParseListen(string value)
    {
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), out int port) || port is < 0 or > 65535)
        {
            throw new ConfigurationException($"--listen '{value}': expected HOST:PORT, e.g. 0.0.0.0:1883");
        }
        string host = value[..colon].Trim('[', ']');
        if (host != "localhost" && !System.Net.IPAddress.TryParse(host, out _))
        {
            throw new ConfigurationException($"--listen '{value}': '{host}' is not an IP address or localhost");
        }
        return new ListenerOptions { Name = "mqtt", Address = host, Port = port };
    }
}

/// <summary>A configuration problem, with a message for the user.</summary>
internal sealed class ConfigurationException(string message) : Exception(message);

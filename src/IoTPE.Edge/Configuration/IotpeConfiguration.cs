using IoTPE.Broker;
using IoTPE.Broker.Storage.Sqlite;
using IoTPE.Gpio.Configuration;

namespace IoTPE.Edge.Configuration;

/// <summary>
/// The JSON configuration file of <c>iotpe run --config FILE</c>. Every setting has a default;
/// command-line options override the file. Unknown keys are an error, so a typo does not pass silently.
/// </summary>
/// <example>
/// <code>
/// {
///   "data": "/var/lib/iotpe",
///   "allowAnonymous": false,
///   "sync": "full",
///   "logLevel": "information",
///   "corePacking": true,
///   "broker": {
///     "listeners": [
///       { "name": "mqtt", "address": "0.0.0.0", "port": 1883 },
///       { "name": "mqtts", "address": "0.0.0.0", "port": 8883, "tls": { "certificateFile": "server.crt", "keyFile": "server.key" } },
///       { "name": "ws", "address": "0.0.0.0", "port": 8080, "protocol": "webSocket", "webSocketPath": "/mqtt" }
///     ],
///     "maximumPacketSize": 1048576,
///     "maxQueuedMessages": 100000,
///     "queueOverflowPolicy": "dropNewest"
///   },
///   "storage": { "diskReserveBytes": 67108864 },
///   "gpio": {
///     "pins": [
///       { "name": "led", "account": "acme", "chip": 0, "line": 17, "direction": "output" },
///       { "name": "button", "account": "acme", "chip": 0, "line": 27, "direction": "input", "bias": "pullUp", "activeLow": true, "debounceMilliseconds": 20, "onEdge": "pressed" }
///     ]
///   }
/// }
/// </code>
/// </example>
public sealed class IotpeConfiguration
{
    /// <summary>The data folder (SQLite databases, scripts). Default <c>./data</c>.</summary>
    public string? Data { get; set; }

    /// <summary>Let clients connect without credentials. Default false.</summary>
    public bool? AllowAnonymous { get; set; }

    /// <summary>Durability of commits: <c>full</c> (survives power loss, the default) or <c>normal</c> (survives a process crash).</summary>
    public SqliteSyncMode? Sync { get; set; }

    /// <summary>Least severe log level written: trace, debug, information, warning, error. Default information.</summary>
    public Microsoft.Extensions.Logging.LogLevel? LogLevel { get; set; }

    /// <summary>
    /// Keep the socket loops and script workers on one core while the process asks for less than half
    /// a core (its CPU time plus its message threads' waiting for a core), and on every core above
    /// three quarters (IoTPE.Threading's CorePacking). Default true.
    /// </summary>
    public bool? CorePacking { get; set; }

    /// <summary>The broker's settings: listeners, limits, protocol options.</summary>
    public BrokerOptions Broker { get; set; } = new();

    /// <summary>The process engine's settings: script limits.</summary>
    public EngineSettings Engine { get; set; } = new();

    /// <summary>The data folder's protection: the disk reserve.</summary>
    public StorageSettings Storage { get; set; } = new();

    /// <summary>The gateway's pins (docs/gpio.md); none by default.</summary>
    public GpioSettings Gpio { get; set; } = new();

    /// <summary>The central engine's stores on a MySQL/MariaDB server; null: SQLite in the data folder.</summary>
    public MySqlSettings? Mysql { get; set; }

    /// <summary>Bridges to remote brokers (a central engine): what is forwarded, what is received.</summary>
    public List<BridgeSettings> Bridges { get; set; } = [];

    /// <summary>Checks every setting, so that a value out of range stops the start with a message that names it.</summary>
    /// <exception cref="ConfigurationException">A setting is out of range.</exception>
    public void Validate()
    {
        try
        {
            Broker.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException("broker." + e.Message);
        }
        Engine.Validate();
        Storage.Validate();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Bridges.Count; i++)
        {
            Bridges[i].Validate(i);
            if (!names.Add(Bridges[i].Name!))
            {
                throw new ConfigurationException($"bridges[{Bridges[i].Name}]: two bridges have this name");
            }
        }
    }
}

namespace IoTPE.Bridge;

/// <summary>One bridge: the remote broker, what goes to it and what comes from it, and the queue's bound.</summary>
public sealed class BridgeOptions
{
    /// <summary>Names the bridge: its local session <c>$iotpe/bridge/&lt;name&gt;</c>, its state file, its <c>$SYS</c> topics.</summary>
    public required string Name { get; init; }

    /// <summary>The remote broker's host name or address.</summary>
    public required string Host { get; init; }

    /// <summary>The remote broker's port.</summary>
    public required int Port { get; init; }

    /// <summary>The client identifier at the remote broker: names the remote persistent session, keep it stable.</summary>
    public required string ClientId { get; init; }

    /// <summary>The user name at the remote broker, or null.</summary>
    public string? UserName { get; init; }

    /// <summary>The password at the remote broker, or null.</summary>
    public string? Password { get; init; }

    /// <summary>TLS to the remote broker, or null for plain TCP.</summary>
    public MqttTlsOptions? Tls { get; init; }

    /// <summary>MQTT 5.0 (default) or 3.1.1 to the remote broker.</summary>
    public MqttProtocolVersion ProtocolVersion { get; init; } = MqttProtocolVersion.V500;

    /// <summary>Local messages matching these filters are sent to the remote under the same topic.</summary>
    public required IReadOnlyList<string> Forward { get; init; }

    /// <summary>Remote messages matching these filters are published locally.</summary>
    public required IReadOnlyList<string> Receive { get; init; }

    /// <summary>Most messages queued for the remote (queued and in flight); beyond it QoS 1/2 publishers are refused.</summary>
    public required long MaxQueuedMessages { get; init; }

    /// <summary>Most bytes queued for the remote; beyond it QoS 1/2 publishers are refused.</summary>
    public required long MaxQueuedBytes { get; init; }

    /// <summary>The remote client's state file (<c>bridge-&lt;name&gt;.db</c> in the data folder).</summary>
    public required string StatePath { get; init; }

    /// <summary>
    /// Most messages handed to the remote client and not yet completed (PUBCOMP/PUBACK): the pipelined
    /// window; the remote's Receive Maximum caps what is on the wire at once. Default 1,000.
    /// </summary>
    public int Window { get; init; } = 1_000;

    /// <summary>Publishes in flight to the remote at once, further capped by its Receive Maximum. Default 100.</summary>
    public ushort MaxInflight { get; init; } = 100;

    /// <summary>
    /// The MQTT keep alive with the remote: a link that has gone silent (cut without a FIN) is noticed
    /// within about twice this and reconnected. Default 30 s.
    /// </summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Seconds between two publications of the bridge's <c>$SYS</c> topics; 0 publishes none. Default 10.</summary>
    public int SysInterval { get; init; } = 10;

    /// <summary>The local session's client identifier.</summary>
    public string LocalClientId => "$iotpe/bridge/" + Name;
}

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

    /// <summary>
    /// Local messages matching these filters (each behind <see cref="LocalPrefix"/>) are sent to the remote, under
    /// the same topic unless the prefixes differ (<see cref="TopicMapping"/>).
    /// </summary>
    public required IReadOnlyList<string> Forward { get; init; }

    /// <summary>Remote messages matching these filters (each behind <see cref="RemotePrefix"/>) are published locally.</summary>
    public required IReadOnlyList<string> Receive { get; init; }

    /// <summary>What local topics of the bridge start with (<see cref="TopicMapping"/>); empty (default) for none.</summary>
    public string LocalPrefix { get; init; } = "";

    /// <summary>What remote topics of the bridge start with (<see cref="TopicMapping"/>); empty (default) for none.</summary>
    public string RemotePrefix { get; init; } = "";

    /// <summary>Most messages queued for the remote (queued and in flight); beyond it QoS 1/2 publishers are refused.</summary>
    public required long MaxQueuedMessages { get; init; }

    /// <summary>Most bytes queued for the remote; beyond it QoS 1/2 publishers are refused.</summary>
    public required long MaxQueuedBytes { get; init; }

    /// <summary>The remote client's state file (<c>bridge-&lt;name&gt;.db</c> in the data folder).</summary>
    public required string StatePath { get; init; }

    /// <summary>
    /// Most messages handed to the remote client and not yet completed (PUBCOMP/PUBACK): the pipelined
    /// window. It holds those in flight (<see cref="MaxInflight"/>) and those whose commit to the client's
    /// state file is under way, so that the next ones are stored while the remote acknowledges. Default 2,000.
    /// </summary>
    public int Window { get; init; } = 2_000;

    /// <summary>
    /// Publishes in flight to the remote at once, further capped by its Receive Maximum (<c>iotpe</c>: 1,000;
    /// Mosquitto: its <c>max_inflight_messages</c>, 20 by default). Each QoS 2 flow waits for a commit on
    /// each side, so the drain rate is about this window per round of commits. Default 1,000.
    /// </summary>
    public ushort MaxInflight { get; init; } = 1_000;

    /// <summary>
    /// The MQTT keep alive with the remote: a link that has gone silent (cut without a FIN) is noticed
    /// within about twice this and reconnected. Default 30 s.
    /// </summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Seconds between two publications of the bridge's <c>$SYS</c> topics; 0 publishes none. Default 10.</summary>
    public int SysInterval { get; init; } = 10;

    /// <summary>The record of the filters subscribed on each side (<c>&lt;state file&gt;.subscriptions</c>).</summary>
    public string SubscriptionsPath => StatePath + ".subscriptions";

    /// <summary>The local session's client identifier.</summary>
    public string LocalClientId => "$iotpe/bridge/" + Name;
}

using IoTPE.Mqtt;

namespace IoTPE.Broker;

/// <summary>Everything about the broker's behaviour that can be configured. Every setting has a default.</summary>
public sealed class BrokerOptions
{
    /// <summary>Network listeners. Default: plain MQTT on 0.0.0.0:1883.</summary>
    public IList<ListenerOptions> Listeners { get; set; } = [new ListenerOptions()];

    /// <summary>Largest packet accepted from a client, in bytes (MQTT 5.0 Maximum Packet Size). Default 1 MiB.</summary>
    public int MaximumPacketSize { get; set; } = 1024 * 1024;

    /// <summary>Most QoS 1/2 PUBLISH packets a client may have unacknowledged towards us (our Receive Maximum). A client exceeding it is disconnected with 0x93.</summary>
    public ushort ReceiveMaximum { get; set; } = 1000;

    /// <summary>Most QoS 1/2 messages in flight to one client at once, for clients that do not send a Receive Maximum (MQTT 3.1.1).</summary>
    public ushort MaxInflightMessages { get; set; } = 1000;

    /// <summary>Most QoS 1/2 messages queued for one session beyond those in flight.</summary>
    public int MaxQueuedMessages { get; set; } = 100_000;

    /// <summary>
    /// What happens to a message the broker itself publishes (an engine outcome, a will) for a
    /// session whose queue is full. Either way it is counted and logged. A client's QoS 1/2
    /// PUBLISH that would overflow a queue is never dropped: it is refused to its publisher
    /// (MQTT 5.0: 0x97 Quota exceeded; 3.1.1: not acknowledged, so it is sent again).
    /// </summary>
    public QueueOverflowPolicy QueueOverflowPolicy { get; set; } = QueueOverflowPolicy.DropNewest;

    /// <summary>
    /// Most bytes (topic and payload) of QoS 1/2 messages queued or in flight for the sessions of
    /// one account (default 64 MiB). A client's QoS 1/2 PUBLISH that would pass it is refused to
    /// its publisher, as for a full queue; logged when it is hit.
    /// </summary>
    public long MaxQueuedBytesPerAccount { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Most payload bytes of stored messages (queued for persistent sessions, retained) kept in
    /// memory (default 16 MiB). Beyond it the oldest payloads stay on disk only and are read back
    /// when they are sent, so a backlog costs disk, not memory; after a restart no stored payload
    /// is loaded until it is sent. Raising it saves disk reads when large backlogs drain.
    /// </summary>
    public long MaxResidentPayloadBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// Most payload bytes of messages written to the store and not yet committed (default 8 MiB):
    /// until their commit completes they can only be in memory. Above it, connections stop reading
    /// until commits catch up, so clients that publish faster than the disk writes are slowed down
    /// by TCP (their unread packets wait in the kernel's socket buffers and in the clients) instead
    /// of growing the broker's memory. A single larger message still passes, alone.
    /// </summary>
    public long MaxUncommittedPayloadBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>
    /// Most QoS 1/2 deliveries queued in memory for one persistent session (default 5,000). Beyond
    /// it, further deliveries are stored as usual but not kept in memory: the session remembers only
    /// how many there are and their bytes, and reads them back from the store in order, a page at a
    /// time, when the part in memory runs below half of it. So a backlog of millions of small
    /// messages costs disk, not memory. Loading after a restart reads this many per session too (at
    /// least <see cref="MaxInflightMessages"/>, so that everything that may have been in flight is
    /// loaded and resent).
    /// </summary>
    public int MaxResidentDeliveriesPerSession { get; set; } = 5_000;

    /// <summary>
    /// Bytes waiting to be written to one client above which the clients publishing to it pause
    /// reading (up to 200 ms at a time) until it catches up, so a slow subscriber slows its
    /// publishers down through TCP instead of losing QoS 0 messages.
    /// </summary>
    public int OutputBackpressureBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// QoS 1/2 deliveries queued for a connected client (beyond those in flight) above which the
    /// clients publishing to it pause reading in the same way, so that a subscriber that is slow
    /// but alive never reaches <see cref="MaxQueuedMessages"/>.
    /// </summary>
    public int QueueBackpressureMessages { get; set; } = 10_000;

    /// <summary>Bytes waiting to be written to one client above which QoS 0 messages to it are dropped (slow consumer); counted and logged.</summary>
    public int MaxPendingOutputBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Highest QoS the broker accepts and grants. Default 2.</summary>
    public QualityOfService MaximumQoS { get; set; } = QualityOfService.ExactlyOnce;

    /// <summary>Whether retained messages are supported.</summary>
    public bool RetainAvailable { get; set; } = true;

    /// <summary>Most topic aliases a client may set towards us (our Topic Alias Maximum).</summary>
    public ushort TopicAliasMaximum { get; set; } = 100;

    /// <summary>Largest keep-alive the broker allows, in seconds (Mosquitto's max_keepalive). MQTT 5.0 clients are told Server Keep Alive; 3.1.1 clients asking for more are refused.</summary>
    public ushort MaxKeepAlive { get; set; } = 65535;

    /// <summary>Longest Session Expiry Interval granted, in seconds; <see cref="uint.MaxValue"/> = unlimited.</summary>
    public uint MaxSessionExpiryInterval { get; set; } = uint.MaxValue;

    /// <summary>Session Expiry Interval of an MQTT 3.1.1 session with CleanSession=0, in seconds; <see cref="uint.MaxValue"/> = never.</summary>
    public uint PersistentSessionExpiry { get; set; } = uint.MaxValue;

    /// <summary>Longest client identifier accepted, in bytes.</summary>
    public int MaxClientIdLength { get; set; } = 256;

    /// <summary>Most simultaneous network connections; more are refused.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>Seconds a new connection has to send CONNECT.</summary>
    public int ConnectTimeoutSeconds { get; set; } = 5;

    /// <summary>Largest packet accepted before CONNECT has been accepted, in bytes, the CONNECT itself included (at most <see cref="MaximumPacketSize"/> applies).</summary>
    public int MaxConnectPacketSize { get; set; } = 64 * 1024;

    /// <summary>Most connections waiting to complete CONNECT at once; a new one beyond it closes the oldest.</summary>
    public int MaxPendingConnections { get; set; } = 1_000;

    /// <summary>Most connections waiting to complete CONNECT from one IP address (IPv6: one /64); more are refused.</summary>
    public int MaxPendingConnectionsPerAddress { get; set; } = 64;

    /// <summary>Most PUBLISH packets per second one connection may send; faster senders are slowed down (reads pause). 0 = unlimited.</summary>
    public int MaxPublishRatePerConnection { get; set; }

    /// <summary>Most new connections per second from one IP address; more are refused. 0 = unlimited.</summary>
    public int MaxConnectionRatePerAddress { get; set; }

    /// <summary>Seconds between publications of <c>$SYS/</c> counters. 0 disables them.</summary>
    public int SysInterval { get; set; } = 10;

    /// <summary>
    /// Checks that every setting is usable; the broker does this when it is created. Names in the
    /// message are those of the configuration file.
    /// </summary>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it and its allowed range.</exception>
    public void Validate()
    {
        // §3.2.2.3.3 and §3.2.2.3.6: Receive Maximum 0 and Maximum Packet Size 0 are protocol errors.
        AtLeast(ReceiveMaximum, 1, "receiveMaximum");
        Within(MaximumPacketSize, 128, VariableByteInteger.MaxValue + 5, "maximumPacketSize");
        AtLeast(MaxInflightMessages, 1, "maxInflightMessages");
        AtLeast(MaxQueuedMessages, 1, "maxQueuedMessages");
        AtLeast(MaxQueuedBytesPerAccount, 1, "maxQueuedBytesPerAccount");
        AtLeast(MaxResidentPayloadBytes, 0, "maxResidentPayloadBytes");
        AtLeast(MaxUncommittedPayloadBytes, 0, "maxUncommittedPayloadBytes");
        AtLeast(MaxResidentDeliveriesPerSession, 2, "maxResidentDeliveriesPerSession");
        AtLeast(OutputBackpressureBytes, 1, "outputBackpressureBytes");
        AtLeast(QueueBackpressureMessages, 1, "queueBackpressureMessages");
        AtLeast(MaxPendingOutputBytes, 1, "maxPendingOutputBytes");
        AtLeast(MaxKeepAlive, 1, "maxKeepAlive");
        // §3.1.3.1: the server must accept client identifiers of 1 to 23 characters.
        AtLeast(MaxClientIdLength, 23, "maxClientIdLength");
        AtLeast(MaxConnections, 1, "maxConnections");
        AtLeast(ConnectTimeoutSeconds, 1, "connectTimeoutSeconds");
        AtLeast(MaxConnectPacketSize, 128, "maxConnectPacketSize");
        AtLeast(MaxPendingConnections, 1, "maxPendingConnections");
        AtLeast(MaxPendingConnectionsPerAddress, 1, "maxPendingConnectionsPerAddress");
        AtLeast(MaxPublishRatePerConnection, 0, "maxPublishRatePerConnection");
        AtLeast(MaxConnectionRatePerAddress, 0, "maxConnectionRatePerAddress");
        AtLeast(SysInterval, 0, "sysInterval");
        if (MaximumQoS > QualityOfService.ExactlyOnce)
        {
            throw new ArgumentException($"maximumQoS must be 0, 1 or 2, not {(int)MaximumQoS}");
        }
        foreach (ListenerOptions listener in Listeners)
        {
            Within(listener.Port, 0, 65535, $"listeners[{listener.Name}].port");
        }

        static void AtLeast(long value, long minimum, string name)
        {
            if (value < minimum)
            {
                throw new ArgumentException($"{name} must be at least {minimum}, not {value}");
            }
        }

        static void Within(long value, long minimum, long maximum, string name)
        {
            if (value < minimum || value > maximum)
            {
                throw new ArgumentException($"{name} must be between {minimum} and {maximum}, not {value}");
            }
        }
    }
}

/// <summary>What to do with a message for a session whose queue is full.</summary>
public enum QueueOverflowPolicy
{
    /// <summary>Drop the new message (as Mosquitto does).</summary>
    DropNewest,

    /// <summary>Drop the oldest queued message to make room.</summary>
    DropOldest,
}

/// <summary>One network listener.</summary>
public sealed class ListenerOptions
{
    /// <summary>A name for logs and for the authorizer (e.g. <c>mqtt</c>, <c>mqtts</c>, <c>ws</c>).</summary>
    public string Name { get; set; } = "mqtt";

    /// <summary>The address to bind: an IP address, <c>localhost</c>, or <c>0.0.0.0</c>/<c>::</c> for all.</summary>
    public string Address { get; set; } = "0.0.0.0";

    /// <summary>The TCP port; 0 picks a free one.</summary>
    public int Port { get; set; } = 1883;

    /// <summary>The protocol on this port.</summary>
    public ListenerProtocol Protocol { get; set; } = ListenerProtocol.Mqtt;

    /// <summary>TLS settings; when set, the listener speaks TLS (MQTT over TLS, or WebSocket over TLS).</summary>
    public TlsOptions? Tls { get; set; }

    /// <summary>For WebSocket listeners: the HTTP path clients connect to.</summary>
    public string WebSocketPath { get; set; } = "/mqtt";

    /// <summary>MQTT straight over TCP: its connections are served by the broker's socket event loops.</summary>
    internal bool IsPlainTcp => Tls is null && Protocol == ListenerProtocol.Mqtt;
}

/// <summary>The protocol a listener speaks.</summary>
public enum ListenerProtocol
{
    /// <summary>MQTT over TCP (or TLS).</summary>
    Mqtt,

    /// <summary>MQTT over WebSocket (or secure WebSocket).</summary>
    WebSocket,
}

/// <summary>TLS settings of a listener.</summary>
public sealed class TlsOptions
{
    /// <summary>PEM file with the server certificate (and its chain).</summary>
    public string CertificateFile { get; set; } = "";

    /// <summary>PEM file with the server's private key.</summary>
    public string KeyFile { get; set; } = "";

    /// <summary>PEM file of the CA that client certificates must chain to; when set, clients must present a certificate.</summary>
    public string? ClientCaFile { get; set; }
}

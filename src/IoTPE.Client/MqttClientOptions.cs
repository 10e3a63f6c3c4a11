using IoTPE.Mqtt;

namespace IoTPE.Client;

/// <summary>
/// How an <see cref="MqttClient"/> connects and where it keeps its state. The defaults give guaranteed delivery:
/// QoS 2, a persistent session (clean start off, a session that does not expire), and every in-flight message
/// committed to <see cref="StatePath"/> with <c>synchronous=FULL</c>. A record, so variants are made with
/// <c>with { … }</c>; its <see cref="object.ToString"/> leaves the password out.
/// </summary>
public sealed record MqttClientOptions
{
    /// <summary>The broker's host name or IP address.</summary>
    public required string Host { get; init; }

    /// <summary>The broker's port: 1883 unless set (brokers usually serve TLS on 8883).</summary>
    public int Port { get; init; } = 1883;

    /// <summary>
    /// The client identifier. It names the persistent session on the broker and is recorded in the state file, so it
    /// must stay the same across restarts and be unique among the broker's clients.
    /// </summary>
    public required string ClientId { get; init; }

    /// <summary>
    /// The SQLite file holding the durable state (created if missing; its folder must exist). One file per client
    /// identifier: the file refuses to be opened for another one.
    /// </summary>
    public required string StatePath { get; init; }

    /// <summary>The protocol version: <see cref="MqttProtocolVersion.V500"/> unless set; 3.1.1 works too.</summary>
    public MqttProtocolVersion ProtocolVersion { get; init; } = MqttProtocolVersion.V500;

    /// <summary>The user name, if the broker wants one.</summary>
    public string? UserName { get; init; }

    /// <summary>The password, if the broker wants one (3.1.1 allows it only with a user name).</summary>
    public string? Password { get; init; }

    /// <summary>TLS settings; null for plain TCP.</summary>
    public MqttTlsOptions? Tls { get; init; }

    /// <summary>The keep-alive interval (at most 65,535 s; zero turns it off): a PINGREQ goes out when nothing else did for this long.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a connection attempt (TCP, TLS, CONNECT/CONNACK) may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// MQTT 5.0 Session Expiry Interval: how long the broker keeps the session (subscriptions and queued messages)
    /// after a disconnection. <see cref="Timeout.InfiniteTimeSpan"/> (the default) means never; 3.1.1 sessions never
    /// expire by protocol.
    /// </summary>
    public TimeSpan SessionExpiry { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// MQTT 5.0 Receive Maximum: how many QoS 1/2 messages the broker may send before this client acknowledges them.
    /// A message whose handler keeps failing holds one of these slots until it succeeds or is dead-lettered.
    /// </summary>
    public ushort ReceiveMaximum { get; init; } = 100;

    /// <summary>
    /// How many QoS 1/2 publishes of this client may await their acknowledgement at once; with MQTT 5.0 also capped
    /// by the broker's Receive Maximum. 20 unless set: MQTT 3.1.1 has no way to learn the broker's limit, and
    /// Mosquitto (max_inflight_messages, 20 by default) acknowledges but drops QoS 2 publishes of 3.1.1 clients
    /// beyond it, so do not raise this for a 3.1.1 broker without raising its limit too.
    /// </summary>
    public ushort MaxInflight { get; init; } = 20;

    /// <summary>SQLite's synchronous mode for <see cref="StatePath"/>: <see cref="SqliteSynchronous.Full"/> unless set.</summary>
    public SqliteSynchronous StateSynchronous { get; init; } = SqliteSynchronous.Full;

    /// <summary>
    /// Delays between connection attempts, unless set: nominally 0.5 s doubling to 30 s, each drawn between half and
    /// all of the nominal delay (<see cref="BackoffPolicy"/>), so the first retry comes after 0.25–0.5 s, the second
    /// after 0.5–1 s, and from the eighth on after 15–30 s. While the broker is unreachable (the TCP connection
    /// itself fails), <see cref="ReconnectProbeInterval"/> cuts the wait short as soon as it is back. The backoff
    /// starts over once a connection stayed up for ten seconds.
    /// </summary>
    public BackoffPolicy ReconnectBackoff { get; init; } = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30));

    /// <summary>
    /// While waiting to reconnect to a broker that could not be reached at all (TCP connection refused, unreachable,
    /// timed out), how often a bare TCP connection attempt checks whether it is back; if it is, the client connects at
    /// once instead of waiting out <see cref="ReconnectBackoff"/>. One second unless set; null turns probing off. A
    /// broker that accepts TCP but refuses the client (e.g. bad credentials) is retried on the backoff only.
    /// </summary>
    public TimeSpan? ReconnectProbeInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long <see cref="MqttClient.PublishAsync(MqttMessage, CancellationToken)"/> (and <see cref="MqttClient.CancelAsync"/>)
    /// wait for the broker's acknowledgement before failing with <see cref="TimeoutException"/>. Infinite unless set. A
    /// message that timed out stays stored and is still sent when the broker is reachable: do not publish it again
    /// without a message identity (<see cref="MqttClient.Publish(MqttMessage, string?)"/>), or it may arrive twice.
    /// </summary>
    public TimeSpan PublishTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// How many identities of delivered publishes (<see cref="MqttClient.Publish(MqttMessage, string?)"/> with a message
    /// identity) the state file remembers, most recent first; publishing a remembered identity again is a no-op. A
    /// count, not an age, so that a device that was off for a month still recognises what it delivered before. 100,000
    /// unless set (a few MB of state file); 0 remembers none (only identities still pending are recognised). Make it
    /// larger than the number of messages your application may publish again after a crash.
    /// </summary>
    public int MessageIdRetention { get; init; } = 100_000;

    /// <summary>
    /// Delays between attempts of a failing handler, unless set: nominally 1 s doubling to 60 s, each drawn between
    /// half and all of the nominal delay (<see cref="BackoffPolicy"/>): 0.5–1 s before the second attempt, 1–2 s before
    /// the third, and 30–60 s from the eighth on.
    /// </summary>
    public BackoffPolicy HandlerRetryBackoff { get; init; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

    /// <summary>
    /// How many times a handler may fail for one message before the message is dead-lettered and acknowledged
    /// (20 unless set: between 7.5 and 15 minutes with the default backoff). Null retries for ever — then a message that
    /// can never be handled holds its acknowledgement slot for ever, and enough of them stop the broker from sending
    /// anything (its receive window is full). QoS 2 attempts are counted across restarts, so a message that crashes
    /// the process each time it is handled is dead-lettered too, instead of crashing it for ever.
    /// See <see cref="MqttClient.SubscribeAsync(string, Func{MqttMessage, CancellationToken, ValueTask}, QualityOfService, CancellationToken)"/>.
    /// </summary>
    public int? HandlerMaxAttempts { get; init; } = 20;

    /// <summary>
    /// How long a received message that matches none of this client's subscriptions waits for one (the broker may
    /// deliver a persistent session's messages before the application has registered its handlers again) before it
    /// is dead-lettered. One minute unless set.
    /// </summary>
    public TimeSpan UnhandledMessageTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Called once for each message given up on, after it was committed to the <c>dead_letter</c> table. Its errors
    /// are logged and otherwise ignored. Dead letters are always logged as errors.
    /// </summary>
    public Func<DeadLetter, CancellationToken, ValueTask>? DeadLetterHandler { get; init; }

    /// <summary>How many command handlers (<see cref="MqttClient.RegisterCommandAsync(string, Func{System.Text.Json.JsonElement, CancellationToken, ValueTask{System.Text.Json.JsonElement}}, CancellationToken)"/>) may run at once; 16 unless set.</summary>
    public int MaxConcurrentCommands { get; init; } = 16;

    /// <summary>The will message the broker publishes if this client vanishes without a DISCONNECT; none unless set.</summary>
    public WillMessage? Will { get; init; }

    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("Host = ").Append(Host).Append(", Port = ").Append(Port)
            .Append(", ClientId = ").Append(ClientId).Append(", StatePath = ").Append(StatePath)
            .Append(", ProtocolVersion = ").Append(ProtocolVersion).Append(", UserName = ").Append(UserName)
            .Append(", Tls = ").Append(Tls is not null);
        return true;
    }

    internal void Validate()
    {
        if (string.IsNullOrEmpty(Host))
        {
            throw new ArgumentException("Host is required.", nameof(Host));
        }

        if (Port is <= 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "Port must be 1-65535.");
        }

        if (string.IsNullOrEmpty(ClientId) || !MqttString.IsValid(ClientId))
        {
            throw new ArgumentException("ClientId must be a non-empty MQTT string: a persistent session needs a stable identifier.", nameof(ClientId));
        }

        if (string.IsNullOrEmpty(StatePath))
        {
            throw new ArgumentException("StatePath is required.", nameof(StatePath));
        }

        if (ProtocolVersion is not (MqttProtocolVersion.V311 or MqttProtocolVersion.V500))
        {
            throw new ArgumentOutOfRangeException(nameof(ProtocolVersion), ProtocolVersion, "Use MQTT 3.1.1 or 5.0.");
        }

        if (ProtocolVersion == MqttProtocolVersion.V311 && Password is not null && UserName is null)
        {
            throw new ArgumentException("MQTT 3.1.1 allows a password only with a user name.", nameof(Password));
        }

        if (KeepAlive < TimeSpan.Zero || KeepAlive.TotalSeconds > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAlive), KeepAlive, "KeepAlive must be 0-65535 s.");
        }

        if (ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ConnectTimeout), ConnectTimeout, "ConnectTimeout must be positive.");
        }

        if (SessionExpiry != Timeout.InfiniteTimeSpan && SessionExpiry < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(SessionExpiry), SessionExpiry, "SessionExpiry must be positive or infinite.");
        }

        if (ReceiveMaximum == 0 || MaxInflight == 0)
        {
            throw new ArgumentException("ReceiveMaximum and MaxInflight must be at least 1.");
        }

        if (HandlerMaxAttempts is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(HandlerMaxAttempts), HandlerMaxAttempts, "HandlerMaxAttempts must be at least 1 (or null).");
        }

        if (MaxConcurrentCommands < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentCommands), MaxConcurrentCommands, "MaxConcurrentCommands must be at least 1.");
        }

        if (ReconnectProbeInterval is { } probe && probe <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ReconnectProbeInterval), probe, "ReconnectProbeInterval must be positive (or null: no probing).");
        }

        if (PublishTimeout != Timeout.InfiniteTimeSpan && PublishTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(PublishTimeout), PublishTimeout, "PublishTimeout must be positive or infinite.");
        }

        if (MessageIdRetention < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MessageIdRetention), MessageIdRetention, "MessageIdRetention must be 0 or more.");
        }

        ArgumentNullException.ThrowIfNull(ReconnectBackoff);
        ArgumentNullException.ThrowIfNull(HandlerRetryBackoff);
        ReconnectBackoff.Validate(nameof(ReconnectBackoff));
        HandlerRetryBackoff.Validate(nameof(HandlerRetryBackoff));
    }

    /// <summary>The Session Expiry Interval in seconds as CONNECT carries it (0xFFFFFFFF: never).</summary>
    internal uint SessionExpirySeconds => SessionExpiry == Timeout.InfiniteTimeSpan
        ? uint.MaxValue
        : (uint)Math.Min(uint.MaxValue - 1, Math.Ceiling(SessionExpiry.TotalSeconds));
}

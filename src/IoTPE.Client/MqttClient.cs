using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using IoTPE.Client.Commands;
using IoTPE.Client.Dispatch;
using IoTPE.Client.Session;
using IoTPE.Client.Storage;
using IoTPE.Client.Transport;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPE.Client;

/// <summary>
/// An MQTT 3.1.1/5.0 client for guaranteed delivery of events and command calls, with its session state in a SQLite
/// file (<see cref="MqttClientOptions.StatePath"/>).
/// <list type="bullet">
/// <item><description><b>Publishing.</b> A QoS 1/2 publish is committed before it is sent and stays stored until the
/// broker acknowledged it (PUBACK/PUBCOMP). If the process dies, the next run sends it; a QoS 2 publish the broker
/// had already received is completed with PUBREL, never sent twice. <see cref="Publish(MqttMessage, string?)"/>
/// reports both moments (stored, delivered) and deduplicates on an application message identity, which makes
/// resuming after a crash exact.</description></item>
/// <item><description><b>Receiving.</b> A QoS 2 message is committed before PUBREC and handed to the handlers once
/// PUBREL arrived; its acknowledgement (PUBCOMP) waits until the handlers succeeded. A resent PUBLISH is recognised by
/// its packet identifier and never handed over twice. A QoS 1 message is acknowledged when its handlers
/// succeeded.</description></item>
/// <item><description><b>Connection.</b> TCP (TCP_NODELAY, one write per batch of packets) or TLS, with user name
/// and password; clean start off, so the broker keeps the session; reconnection with exponential backoff and jitter
/// (<see cref="MqttClientOptions.ReconnectBackoff"/>), cut short by probing while the broker is unreachable
/// (<see cref="MqttClientOptions.ReconnectProbeInterval"/>); <see cref="ConnectionStateChanged"/> reports each change.
/// </description></item>
/// </list>
/// Register handlers (<see cref="SubscribeAsync(string, Func{MqttMessage, CancellationToken, ValueTask}, QualityOfService, CancellationToken)"/>, <see cref="RegisterCommandAsync(string, Func{JsonElement, CancellationToken, ValueTask{JsonElement}}, CancellationToken)"/>)
/// before or right after <see cref="StartAsync"/>: a persistent session's messages may arrive at once, and they wait
/// for their handler (<see cref="MqttClientOptions.UnhandledMessageTimeout"/>).
/// The state file is SQLite, bound by IoTPE.Sqlite (the system's <c>libsqlite3</c>, or the one linked into a NativeAOT host).
/// </summary>
public sealed class MqttClient : IAsyncDisposable
{
    private readonly MqttClientOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ClientSession _session;
    private readonly ConnectionSupervisor _supervisor;
    private readonly CommandHost _commands;
    private readonly Lock _lifecycle = new();
    private Task? _starting;
    private bool _disposed;
    private Exception? _lastConnectionError;

    /// <summary>Creates a client; nothing happens until <see cref="StartAsync"/>.</summary>
    /// <param name="options">Where to connect and where to keep the state.</param>
    /// <param name="logger">
    /// A <c>Microsoft.Extensions.Logging.ILogger</c> for connections, failed connection attempts, handler retries and
    /// dead letters (e.g. <c>loggerFactory.CreateLogger("mqtt")</c>); nothing is logged if null — then
    /// <see cref="ConnectionStateChanged"/> is the way to learn why the client is not connected.
    /// </param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public MqttClient(MqttClientOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        ILogger log = logger ?? NullLogger.Instance;
        _session = new ClientSession(options, log, _stopping.Token);
        _supervisor = new ConnectionSupervisor(_session, OnConnectionStateChanged);
        _commands = new CommandHost(log);
    }

    /// <summary>The client identifier.</summary>
    public string ClientId => _options.ClientId;

    /// <summary>Whether a connection to the broker is up right now.</summary>
    public bool IsConnected
    {
        get
        {
            lock (_session.Gate)
            {
                return _session.IsConnected;
            }
        }
    }

    /// <summary>
    /// Opens the state file, takes over what an earlier run left unfinished, and starts connecting (in the background:
    /// the client works offline too, and publishes wait in the state file). Completes once the state file is open.
    /// </summary>
    /// <param name="cancellationToken">Cancels opening the state file.</param>
    /// <exception cref="InvalidOperationException">Already started; the state file belongs to another client or is in use; SQLite is not initialized.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_starting is not null)
            {
                throw new InvalidOperationException("The client was started already.");
            }

            _starting = StartCoreAsync(cancellationToken);
            return _starting;
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        await Task.Yield(); // Leave the lifecycle lock before opening the file.
        List<IncomingRow> incoming = [];
        List<ushort> outgoingIds = [];
        StateStore store = await Task.Run(
            () => StateStore.Open(_options.StatePath, _options.StateSynchronous, _options.ClientId, _session.Logger, out incoming, out outgoingIds),
            cancellationToken).ConfigureAwait(false);
        lock (_lifecycle)
        {
            if (_disposed)
            {
                _ = store.DisposeAsync().AsTask();
                throw new ObjectDisposedException(nameof(MqttClient));
            }

            _session.Restore(store, incoming, outgoingIds);
        }

        _session.Dispatcher.Start();
        lock (_session.Gate)
        {
            _session.Incoming.DispatchRestored();
        }

        _supervisor.Start();
    }

    /// <summary>
    /// Raised when a connection comes up, when it ends, and when a connection attempt fails (with the error and the delay
    /// until the next attempt), so that an application sees a broker that is down or refuses it, without a logger. Runs
    /// on the client's connection loop: keep handlers short; their exceptions are logged and ignored.
    /// </summary>
    public event EventHandler<ConnectionStateChangedEventArgs>? ConnectionStateChanged;

    /// <summary>
    /// Completes when a connection to the broker is up (at once if it is). Publishing does not need it — publishes wait
    /// in the state file — but an application may want to know, e.g. to report a broker that is down
    /// (<see cref="ConnectionStateChanged"/> says why).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    public Task WaitUntilConnectedAsync(CancellationToken cancellationToken = default) => _session.WaitUntilConnectedAsync(cancellationToken);

    /// <summary>Completes when a connection to the broker is up, or fails with <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="TimeoutException">No connection within <paramref name="timeout"/>; the message names the last connection error.</exception>
    public async Task WaitUntilConnectedAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await _session.WaitUntilConnectedAsync(cancellationToken).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            Exception? last = Volatile.Read(ref _lastConnectionError);
            throw new TimeoutException(
                $"Not connected to {_options.Host}:{_options.Port} within {timeout}" + (last is null ? "." : $"; last error: {last.Message}"),
                last ?? ex);
        }
    }

    /// <summary>
    /// Publishes a message and returns at once with its two moments: <see cref="PublishResult.Stored"/> (committed to the
    /// state file: from then on it is sent even if this process dies) and <see cref="PublishResult.Delivered"/> (the
    /// broker took responsibility: PUBACK/PUBCOMP).
    /// <para>
    /// <b>Message identity.</b> With <paramref name="messageId"/> (a string of the application's choosing, unique among
    /// its messages, e.g. its database key), the state file deduplicates: publishing an identity that is stored and not
    /// yet delivered, or that was delivered (the last <see cref="MqttClientOptions.MessageIdRetention"/> are
    /// remembered), adds nothing, <see cref="PublishResult.Stored"/> says so
    /// (<see cref="PublishStatus.AlreadyStored"/>, <see cref="PublishStatus.AlreadyDelivered"/>) and
    /// <see cref="PublishResult.Delivered"/> reports the earlier publish's outcome. This makes resuming after a crash
    /// safe: publish again, with the same identities, everything whose <see cref="PublishResult.Stored"/> (or
    /// <see cref="PublishResult.Delivered"/>) you had not seen complete. The identity is local to this client's state
    /// file: it is not sent to the broker.
    /// </para>
    /// </summary>
    /// <param name="message">The message (QoS 2 unless set).</param>
    /// <param name="messageId">The application's identity for the message (QoS 1/2 only), or null.</param>
    /// <returns>The publish's two moments.</returns>
    /// <exception cref="ArgumentException">An invalid topic, QoS, or a message identity on a QoS 0 message.</exception>
    /// <exception cref="InvalidOperationException">The client is not started.</exception>
    public PublishResult Publish(MqttMessage message, string? messageId = null)
    {
        PublishPacket packet = ToPacket(message);
        if (messageId is not null && (messageId.Length == 0 || packet.QoS == QualityOfService.AtMostOnce))
        {
            throw new ArgumentException("A message identity must be non-empty, and QoS 0 messages cannot have one (they are not stored).", nameof(messageId));
        }

        EnsureStarted();
        return _session.Outgoing.Enqueue(packet, messageId);
    }

    /// <summary>Publishes a payload; see <see cref="Publish(MqttMessage, string?)"/>.</summary>
    /// <param name="topic">A topic name (no wildcards).</param>
    /// <param name="payload">The payload; not copied until it is stored, so do not change it before <see cref="PublishResult.Stored"/> completes.</param>
    /// <param name="qos">The quality of service.</param>
    /// <param name="retain">Whether the broker keeps it as the topic's retained message.</param>
    /// <param name="messageId">The application's identity for the message (QoS 1/2 only), or null.</param>
    /// <returns>The publish's two moments.</returns>
    public PublishResult Publish(string topic, ReadOnlyMemory<byte> payload, QualityOfService qos = QualityOfService.ExactlyOnce, bool retain = false, string? messageId = null) =>
        Publish(new MqttMessage(topic, payload) { QoS = qos, Retain = retain }, messageId);

    /// <summary>Publishes a UTF-8 text payload; see <see cref="Publish(MqttMessage, string?)"/>.</summary>
    /// <param name="topic">A topic name (no wildcards).</param>
    /// <param name="payload">The text, sent as UTF-8.</param>
    /// <param name="qos">The quality of service.</param>
    /// <param name="retain">Whether the broker keeps it as the topic's retained message.</param>
    /// <param name="messageId">The application's identity for the message (QoS 1/2 only), or null.</param>
    /// <returns>The publish's two moments.</returns>
    public PublishResult Publish(string topic, string payload, QualityOfService qos = QualityOfService.ExactlyOnce, bool retain = false, string? messageId = null)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return Publish(topic, Encoding.UTF8.GetBytes(payload), qos, retain, messageId);
    }

    /// <summary>
    /// The publishes stored in the state file and not yet acknowledged by the broker, in send order — those of earlier
    /// runs included. After a crash this is what the client will send by itself; with message identities an
    /// application can compare it with its own records (publishing them again is a no-op anyway).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="InvalidOperationException">The client is not started.</exception>
    public Task<IReadOnlyList<PendingPublish>> GetPendingPublishesAsync(CancellationToken cancellationToken = default)
    {
        EnsureStarted();
        return _session.Outgoing.ReadPendingAsync().WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Publishes a message and waits until the broker took responsibility for it. At QoS 1/2 (QoS 2 unless told
    /// otherwise) the message is committed to the state file before anything is sent, and the task completes at
    /// PUBACK/PUBCOMP — which may be much later if the client is offline (<see cref="MqttClientOptions.PublishTimeout"/>
    /// bounds the wait). A message committed before the process died is sent by the next run; this task cannot tell
    /// whether it was committed, so an application that must resume after a crash without duplicates uses
    /// <see cref="Publish(MqttMessage, string?)"/> with a message identity instead. At QoS 0 the task completes once the
    /// packet is written.
    /// </summary>
    /// <param name="topic">A topic name (no wildcards).</param>
    /// <param name="payload">The payload; not copied until the call commits it, so do not change it before the task completes.</param>
    /// <param name="qos">The quality of service.</param>
    /// <param name="retain">Whether the broker keeps it as the topic's retained message.</param>
    /// <param name="cancellationToken">Stops waiting. A message already accepted is still delivered.</param>
    /// <exception cref="MqttRejectedException">The broker refused the publish (it is also dead-lettered).</exception>
    /// <exception cref="TimeoutException">No acknowledgement within <see cref="MqttClientOptions.PublishTimeout"/> (the message stays stored and is still sent).</exception>
    /// <exception cref="OperationCanceledException">Stopped waiting, or the client was disposed first.</exception>
    public Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, QualityOfService qos = QualityOfService.ExactlyOnce, bool retain = false, CancellationToken cancellationToken = default) =>
        PublishAsync(new MqttMessage(topic, payload) { QoS = qos, Retain = retain }, cancellationToken);

    /// <summary>Publishes a UTF-8 text payload; see <see cref="PublishAsync(string, ReadOnlyMemory{byte}, QualityOfService, bool, CancellationToken)"/>.</summary>
    /// <param name="topic">A topic name (no wildcards).</param>
    /// <param name="payload">The text, sent as UTF-8.</param>
    /// <param name="qos">The quality of service.</param>
    /// <param name="retain">Whether the broker keeps it as the topic's retained message.</param>
    /// <param name="cancellationToken">Stops waiting. A message already accepted is still delivered.</param>
    public Task PublishAsync(string topic, string payload, QualityOfService qos = QualityOfService.ExactlyOnce, bool retain = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return PublishAsync(topic, Encoding.UTF8.GetBytes(payload), qos, retain, cancellationToken);
    }

    /// <summary>
    /// Publishes a value as JSON (serialized with source-generated metadata); on MQTT 5.0 with Content Type
    /// <c>application/json</c>. See <see cref="PublishAsync(string, ReadOnlyMemory{byte}, QualityOfService, bool, CancellationToken)"/>.
    /// </summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="topic">A topic name (no wildcards).</param>
    /// <param name="payload">The value.</param>
    /// <param name="jsonTypeInfo">The type's metadata from a <c>JsonSerializerContext</c>.</param>
    /// <param name="qos">The quality of service.</param>
    /// <param name="retain">Whether the broker keeps it as the topic's retained message.</param>
    /// <param name="cancellationToken">Stops waiting. A message already accepted is still delivered.</param>
    public Task PublishAsync<T>(string topic, T payload, JsonTypeInfo<T> jsonTypeInfo, QualityOfService qos = QualityOfService.ExactlyOnce, bool retain = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(payload, jsonTypeInfo);
        return PublishAsync(
            new MqttMessage(topic, json)
            {
                QoS = qos,
                Retain = retain,
                Properties = new PublishProperties { ContentType = CommandWire.ContentType, PayloadFormatIndicator = PayloadFormatIndicator.Utf8 },
            },
            cancellationToken);
    }

    /// <summary>
    /// Publishes a message with all its settings, MQTT 5.0 properties included; see
    /// <see cref="PublishAsync(string, ReadOnlyMemory{byte}, QualityOfService, bool, CancellationToken)"/>.
    /// </summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Stops waiting. A message already accepted is still delivered.</param>
    public Task PublishAsync(MqttMessage message, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return WaitDeliveredAsync(Publish(message), message.Topic, cancellationToken);
    }

    /// <summary>
    /// Subscribes to <paramref name="topicFilter"/> and hands its messages to <paramref name="handler"/>, one message
    /// at a time in arrival order. Completes when the broker granted the subscription (SUBACK); if the client is
    /// offline, when it next connects. Subscribing again to the same filter replaces the handler.
    /// <para>
    /// <b>Acknowledgement.</b> A message is acknowledged only after the handler returned: QoS 1 with PUBACK; QoS 2 by
    /// deleting its stored copy, then PUBCOMP. If the handler throws, the message is not acknowledged and the handler
    /// runs again after <see cref="MqttClientOptions.HandlerRetryBackoff"/> (exponential, with jitter) while later
    /// messages go on; <see cref="MqttMessage.DeliveryAttempt"/> counts the attempts.
    /// </para>
    /// <para>
    /// <b>Poison messages.</b> An unacknowledged message holds one of the broker's send slots for this client (MQTT 5.0
    /// Receive Maximum, <see cref="MqttClientOptions.ReceiveMaximum"/>; in 3.1.1 the broker's in-flight limit); when
    /// all are held, the broker sends nothing more. So a message whose handler fails
    /// <see cref="MqttClientOptions.HandlerMaxAttempts"/> times (20 by default: 7.5–15 minutes with the default backoff) is given up on: it is
    /// committed to the state file's <c>dead_letter</c> table, logged as an error, passed to
    /// <see cref="MqttClientOptions.DeadLetterHandler"/>, and acknowledged. Set the limit to null to retry for ever
    /// (and accept that poison messages can stall the subscription).
    /// </para>
    /// <para>
    /// <b>Exactly once.</b> For QoS 2 each attempt is committed before the handler runs, and the message is deleted
    /// right after it succeeded. A message is never handed to a handler again after its success was committed, and
    /// redeliveries by the broker are never handed over. If the process dies between a handler's success and that
    /// commit (a few milliseconds), the next run hands the message over once more with
    /// <see cref="MqttMessage.IsRedelivery"/> set: handlers with effects that must happen exactly once check that flag
    /// (e.g. look up whether they recorded the message). QoS 1 is at least once; QoS 0 at most once.
    /// </para>
    /// </summary>
    /// <param name="topicFilter">A topic filter (wildcards and <c>$share/group/…</c> allowed).</param>
    /// <param name="handler">Handles one message; throws to have it retried. Its token is cancelled when the client is disposed.</param>
    /// <param name="qos">The maximum QoS the broker may deliver with (QoS 2 unless told otherwise).</param>
    /// <param name="cancellationToken">Stops waiting for SUBACK (the subscription stays registered).</param>
    /// <exception cref="MqttRejectedException">The broker refused the subscription.</exception>
    public Task SubscribeAsync(string topicFilter, Func<MqttMessage, CancellationToken, ValueTask> handler, QualityOfService qos = QualityOfService.ExactlyOnce, CancellationToken cancellationToken = default) =>
        SubscribeAsync(topicFilter, handler, qos, noLocal: false, cancellationToken);

    /// <summary>
    /// Subscribes as <see cref="SubscribeAsync(string, Func{MqttMessage, CancellationToken, ValueTask}, QualityOfService, CancellationToken)"/>
    /// does, and with <paramref name="noLocal"/> asks an MQTT 5.0 broker not to send this client the messages it published
    /// itself (No Local, spec 3.8.3.1): a topic that is both published and subscribed to, as by a bridge, does not come back.
    /// MQTT 3.1.1 has no such option: with a 3.1.1 broker the subscription is made without it.
    /// </summary>
    /// <param name="topicFilter">A topic filter (wildcards allowed; not <c>$share/…</c> with <paramref name="noLocal"/>, which the spec forbids).</param>
    /// <param name="handler">Handles one message; throws to have it retried. Its token is cancelled when the client is disposed.</param>
    /// <param name="qos">The maximum QoS the broker may deliver with.</param>
    /// <param name="noLocal">Ask the broker not to send this client its own messages (MQTT 5.0 only).</param>
    /// <param name="cancellationToken">Stops waiting for SUBACK (the subscription stays registered).</param>
    /// <exception cref="MqttRejectedException">The broker refused the subscription.</exception>
    public Task SubscribeAsync(string topicFilter, Func<MqttMessage, CancellationToken, ValueTask> handler, QualityOfService qos, bool noLocal, CancellationToken cancellationToken = default)
    {
        ValidateFilter(topicFilter);
        ArgumentNullException.ThrowIfNull(handler);
        if (noLocal && SharedSubscription.TryParse(topicFilter, out _))
        {
            throw new ArgumentException("No Local cannot be set on a shared subscription (spec 3.8.3.1).", nameof(noLocal));
        }
        DeliveryHandler wrapped = async (message, token) =>
        {
            await handler(message, token).ConfigureAwait(false);
            return null;
        };
        return SubscribeCoreAsync([new Subscription(topicFilter, qos, SubscriptionKind.Event, wrapped) { NoLocal = noLocal }], cancellationToken);
    }

    /// <summary>
    /// Removes a subscription: unsubscribes and drops the handler. Messages that still arrive for it are acknowledged
    /// and dropped. Completes at UNSUBACK (if offline, when the client next connects).
    /// </summary>
    /// <param name="topicFilter">The filter exactly as subscribed.</param>
    /// <param name="cancellationToken">Stops waiting (the unsubscription still happens).</param>
    public Task UnsubscribeAsync(string topicFilter, CancellationToken cancellationToken = default)
    {
        ValidateFilter(topicFilter);
        return UnsubscribeCoreAsync([topicFilter], cancellationToken);
    }

    /// <summary>
    /// Serves a command: subscribes (QoS 2) to <paramref name="topic"/> and <c>&lt;topic&gt;/cancel</c>, and runs
    /// <paramref name="handler"/> for each call (several calls may run at once, up to
    /// <see cref="MqttClientOptions.MaxConcurrentCommands"/>). Its return value is published to
    /// <c>&lt;topic&gt;/resolve</c>, a thrown exception to <c>&lt;topic&gt;/reject</c> (with
    /// <see cref="CommandRejectedException"/>'s code and details if it is one), each with the call's
    /// <c>messageId</c>; a cancellation (<see cref="CommandCall.CancelAsync"/>) cancels the handler's token and, if the
    /// handler gives up, rejects the call with code <see cref="CommandError.CancelledCode"/>. The reply is committed in
    /// the same transaction that ends the call message, so a call is answered exactly once even across crashes (a call
    /// interrupted by a crash runs again). Wire format: docs/commands.md.
    /// </summary>
    /// <param name="topic">The command's topic (a topic name, or a filter with '+' levels; no '#').</param>
    /// <param name="handler">Handles a call's payload (undefined when the call has none) and returns the result.</param>
    /// <param name="cancellationToken">Stops waiting for SUBACK.</param>
    public Task RegisterCommandAsync(string topic, Func<JsonElement, CancellationToken, ValueTask<JsonElement>> handler, CancellationToken cancellationToken = default)
    {
        CommandWire.ValidateTopic(topic);
        ArgumentNullException.ThrowIfNull(handler);
        return SubscribeCoreAsync(
            [
                new Subscription(topic, QualityOfService.ExactlyOnce, SubscriptionKind.Command, _commands.CreateCallHandler(handler)),
                new Subscription(topic + CommandWire.CancelSuffix, QualityOfService.ExactlyOnce, SubscriptionKind.Control, _commands.CreateCancelHandler()),
            ],
            cancellationToken);
    }

    /// <summary>
    /// Serves a command with typed request and result (serialized with source-generated metadata); see
    /// <see cref="RegisterCommandAsync(string, Func{JsonElement, CancellationToken, ValueTask{JsonElement}}, CancellationToken)"/>.
    /// A payload that does not deserialize rejects the call.
    /// </summary>
    /// <typeparam name="TRequest">The call payload's type.</typeparam>
    /// <typeparam name="TResult">The result's type.</typeparam>
    /// <param name="topic">The command's topic.</param>
    /// <param name="handler">Handles a call and returns the result.</param>
    /// <param name="requestTypeInfo">The payload type's metadata.</param>
    /// <param name="resultTypeInfo">The result type's metadata.</param>
    /// <param name="cancellationToken">Stops waiting for SUBACK.</param>
    public Task RegisterCommandAsync<TRequest, TResult>(
        string topic,
        Func<TRequest, CancellationToken, ValueTask<TResult>> handler,
        JsonTypeInfo<TRequest> requestTypeInfo,
        JsonTypeInfo<TResult> resultTypeInfo,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(requestTypeInfo);
        ArgumentNullException.ThrowIfNull(resultTypeInfo);
        return RegisterCommandAsync(
            topic,
            async (payload, token) =>
            {
                TRequest request = payload.ValueKind == JsonValueKind.Undefined ? default! : payload.Deserialize(requestTypeInfo)!;
                TResult result = await handler(request, token).ConfigureAwait(false);
                return JsonSerializer.SerializeToElement(result, resultTypeInfo);
            },
            cancellationToken);
    }

    /// <summary>Stops serving a command: unsubscribes from its calls and cancellations. Calls already running finish and answer.</summary>
    /// <param name="topic">The command's topic, as registered.</param>
    /// <param name="cancellationToken">Stops waiting for UNSUBACK.</param>
    public Task UnregisterCommandAsync(string topic, CancellationToken cancellationToken = default)
    {
        CommandWire.ValidateTopic(topic);
        return UnsubscribeCoreAsync([topic, topic + CommandWire.CancelSuffix], cancellationToken);
    }

    /// <summary>
    /// Calls a command: publishes <c>{"messageId":…,"payload":…}</c> to <paramref name="topic"/> (QoS 2, committed
    /// first like every publish). Completes once the call is accepted — not when it is answered: the answer comes through
    /// <see cref="SubscribeCommandResultsAsync"/> (subscribe before calling), even if the callee answers while this
    /// client is offline. The call reaches a callee that is offline when it comes back (its session holds the call).
    /// </summary>
    /// <param name="topic">The command's topic (a topic name).</param>
    /// <param name="payload">The call's payload (undefined: JSON null).</param>
    /// <param name="cancellationToken">Cancels before the call is accepted.</param>
    /// <returns>The call: its <c>messageId</c>, when it was delivered, and a way to cancel it.</returns>
    public Task<CommandCall> CallAsync(string topic, JsonElement payload, CancellationToken cancellationToken = default) =>
        CallCoreAsync(topic, writer =>
        {
            if (payload.ValueKind == JsonValueKind.Undefined)
            {
                writer.WriteNullValue();
            }
            else
            {
                payload.WriteTo(writer);
            }
        }, cancellationToken);

    /// <summary>Calls a command with a typed payload; see <see cref="CallAsync(string, JsonElement, CancellationToken)"/>.</summary>
    /// <typeparam name="T">The payload's type.</typeparam>
    /// <param name="topic">The command's topic (a topic name).</param>
    /// <param name="payload">The call's payload.</param>
    /// <param name="jsonTypeInfo">The payload type's metadata.</param>
    /// <param name="cancellationToken">Cancels before the call is accepted.</param>
    public Task<CommandCall> CallAsync<T>(string topic, T payload, JsonTypeInfo<T> jsonTypeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        return CallCoreAsync(topic, writer => JsonSerializer.Serialize(writer, payload, jsonTypeInfo), cancellationToken);
    }

    /// <summary>
    /// Receives the results of a command's calls: subscribes (QoS 2) to <c>&lt;topic&gt;/resolve</c> and
    /// <c>&lt;topic&gt;/reject</c>. Every subscribed client gets every result, so match
    /// <see cref="CommandResult.MessageId"/>. Results are delivered like events (<see cref="SubscribeAsync(string, Func{MqttMessage, CancellationToken, ValueTask}, QualityOfService, CancellationToken)"/>): a
    /// failing handler is retried, and a result arriving while this client is offline waits in its session.
    /// </summary>
    /// <param name="topic">The command's topic (a topic name, or a filter with '+' levels).</param>
    /// <param name="handler">Handles one result; throws to have it retried.</param>
    /// <param name="cancellationToken">Stops waiting for SUBACK.</param>
    public Task SubscribeCommandResultsAsync(string topic, Func<CommandResult, CancellationToken, ValueTask> handler, CancellationToken cancellationToken = default)
    {
        CommandWire.ValidateTopic(topic);
        ArgumentNullException.ThrowIfNull(handler);
        return SubscribeCoreAsync(
            [
                new Subscription(topic + CommandWire.ResolveSuffix, QualityOfService.ExactlyOnce, SubscriptionKind.Event, ResultHandler(rejected: false)),
                new Subscription(topic + CommandWire.RejectSuffix, QualityOfService.ExactlyOnce, SubscriptionKind.Event, ResultHandler(rejected: true)),
            ],
            cancellationToken);

        DeliveryHandler ResultHandler(bool rejected) => async (message, token) =>
        {
            string suffix = rejected ? CommandWire.RejectSuffix : CommandWire.ResolveSuffix;
            string commandTopic = message.Topic[..^suffix.Length];
            if (!CommandWire.TryReadResult(commandTopic, rejected, message.Payload, out CommandResult? result, out string problem))
            {
                Logging.ClientLog.CommandMessageInvalid(_session.Logger, message.Topic, problem);
                return null;
            }

            await handler(result!, token).ConfigureAwait(false);
            return null;
        };
    }

    /// <summary>Stops receiving a command's results.</summary>
    /// <param name="topic">The command's topic, as subscribed.</param>
    /// <param name="cancellationToken">Stops waiting for UNSUBACK.</param>
    public Task UnsubscribeCommandResultsAsync(string topic, CancellationToken cancellationToken = default)
    {
        CommandWire.ValidateTopic(topic);
        return UnsubscribeCoreAsync([topic + CommandWire.ResolveSuffix, topic + CommandWire.RejectSuffix], cancellationToken);
    }

    /// <summary>
    /// Stops the client: running handlers see their token cancelled, the connection ends with DISCONNECT (the broker
    /// keeps the session), queued state-file writes finish, and the file is closed. Unfinished work stays in the state
    /// file for the next run; tasks still waiting for it are cancelled.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Task? starting;
        lock (_lifecycle)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            starting = _starting;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (starting is not null)
        {
            try
            {
                await starting.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // It failed or saw the disposal: reported to its caller.
            }
        }

        if (_session.IsStarted)
        {
            await _supervisor.StopAsync().ConfigureAwait(false);
            await _session.Dispatcher.StopAsync().ConfigureAwait(false);
            await _session.Store.DisposeAsync().ConfigureAwait(false);
        }

        lock (_session.Gate)
        {
            _session.Outgoing.CancelWaiters();
            _session.Subscriptions.CancelWaiters();
        }

        _stopping.Dispose();
    }

    /// <summary>
    /// Asks the callee of a call this client made — possibly in an earlier run: store <see cref="CommandCall.MessageId"/>
    /// to cancel after a restart — to cancel it: publishes <c>{"messageId":…}</c> to <c>&lt;topic&gt;/cancel</c>
    /// (QoS 2). A running handler sees its cancellation token cancelled; a call not started yet is rejected without
    /// running; a call that already finished is not affected. Completes when the broker took the cancellation.
    /// </summary>
    /// <param name="topic">The command's topic, as called.</param>
    /// <param name="messageId">The call's <see cref="CommandCall.MessageId"/>.</param>
    /// <param name="cancellationToken">Stops waiting (the cancellation is still sent once stored).</param>
    /// <exception cref="TimeoutException">No acknowledgement within <see cref="MqttClientOptions.PublishTimeout"/> (the cancellation is still sent).</exception>
    public Task CancelAsync(string topic, string messageId, CancellationToken cancellationToken = default)
    {
        CommandWire.ValidateTopic(topic);
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        if (!TopicName.IsValid(topic))
        {
            throw new ArgumentException($"'{topic}' is not a valid topic name: a call goes to one command.", nameof(topic));
        }

        cancellationToken.ThrowIfCancellationRequested();
        EnsureStarted();
        return WaitDeliveredAsync(_session.Outgoing.Enqueue(CommandWire.Cancel(topic, messageId), null), topic + CommandWire.CancelSuffix, cancellationToken);
    }

    private static void ValidateFilter(string topicFilter)
    {
        ArgumentNullException.ThrowIfNull(topicFilter);
        if (!TopicFilter.IsValid(topicFilter))
        {
            throw new ArgumentException($"'{topicFilter}' is not a valid topic filter.", nameof(topicFilter));
        }
    }

    private static PublishPacket ToPacket(MqttMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!TopicName.IsValid(message.Topic))
        {
            throw new ArgumentException($"'{message.Topic}' is not a valid topic name.", nameof(message));
        }

        if (message.QoS > QualityOfService.ExactlyOnce)
        {
            throw new ArgumentOutOfRangeException(nameof(message), message.QoS, "QoS must be 0, 1 or 2.");
        }

        return new PublishPacket(message.Topic, message.Payload)
        {
            QoS = message.QoS,
            PacketIdentifier = message.QoS == QualityOfService.AtMostOnce ? (ushort)0 : (ushort)1,
            Retain = message.Retain,
            Properties = message.Properties is { IsEmpty: false } properties ? properties : null,
        };
    }

    private async Task<CommandCall> CallCoreAsync(string topic, Action<Utf8JsonWriter> writePayload, CancellationToken cancellationToken)
    {
        CommandWire.ValidateTopic(topic);
        if (!TopicName.IsValid(topic))
        {
            throw new ArgumentException($"'{topic}' is not a valid topic name: a call goes to one command.", nameof(topic));
        }

        string messageId = Guid.NewGuid().ToString("D");
        cancellationToken.ThrowIfCancellationRequested();
        EnsureStarted();
        PublishResult published = _session.Outgoing.Enqueue(CommandWire.Call(topic, messageId, writePayload), null);
        await published.Stored.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new CommandCall(this, topic, messageId, published.Delivered);
    }

    /// <summary>Waits for a publish's acknowledgement, within <see cref="MqttClientOptions.PublishTimeout"/>.</summary>
    private async Task WaitDeliveredAsync(PublishResult published, string topic, CancellationToken cancellationToken)
    {
        TimeSpan timeout = _options.PublishTimeout;
        try
        {
            await published.Delivered.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) when (!published.Delivered.IsCompleted)
        {
            string state = IsConnected ? "the client is connected" : "the client is not connected" + (Volatile.Read(ref _lastConnectionError) is { } last ? $": {last.Message}" : string.Empty);
            throw new TimeoutException($"The broker did not acknowledge the publish to '{topic}' within {timeout} ({state}). The message stays stored and is still sent: do not publish it again without a message identity.");
        }
    }

    private void OnConnectionStateChanged(ConnectionStateChangedEventArgs change)
    {
        if (!change.IsConnected && change.Error is { } error)
        {
            Volatile.Write(ref _lastConnectionError, error);
        }

        try
        {
            ConnectionStateChanged?.Invoke(this, change);
        }
        catch (Exception ex)
        {
            Logging.ClientLog.ConnectionStateHandlerFailed(_session.Logger, ex);
        }
    }

    private async Task SubscribeCoreAsync(IReadOnlyList<Subscription> subscriptions, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _session.Subscriptions.SubscribeAsync(subscriptions).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task UnsubscribeCoreAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _session.Subscriptions.UnsubscribeAsync(filters).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void EnsureStarted()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_session.IsStarted)
        {
            throw new InvalidOperationException("Start the client (StartAsync) before publishing.");
        }
    }
}

using System.Net;
using IoTPE.Broker.Connections;
using IoTPE.Broker.Listeners;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Protocol;
using IoTPE.Broker.Routing;
using IoTPE.Broker.Security;
using IoTPE.Broker.Sessions;
using IoTPE.Broker.Storage;
using IoTPE.Broker.Transport;
using IoTPE.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPE.Broker;

/// <summary>
/// The MQTT 3.1.1 and 5.0 broker: listeners, sessions, routing and QoS flows over a durable
/// <see cref="IBrokerStore"/>, with authentication, authorization and interception as ports.
/// </summary>
/// <example>
/// <code>
/// await using var store = new SqliteBrokerStore("./data", new());
/// await using var broker = new Broker(new BrokerOptions(), store, new AnonymousAuthenticator(allowAnonymous: true));
/// await broker.StartAsync();
/// </code>
/// </example>
public sealed class Broker : IAsyncDisposable, IBrokerPort, IUserDataRemoval
{
    private readonly BrokerState _state;
    private readonly IAuthenticator _authenticator;
    private readonly PacketDispatcher _dispatcher;
    private readonly SessionRegistry _sessions;
    private readonly DeliverySender _sender;
    private readonly MessageRouter _router;
    private readonly RetainedMessages _retained;
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(5);
    private readonly DisconnectHandler _disconnects;
    private readonly SessionAttacher _attacher;
    private readonly Housekeeping _housekeeping;
    private readonly List<MqttListener> _listeners = [];
    private SocketEventLoops? _socketLoops;
    private readonly ConnectionAdmission _admission;
    private PeriodicWork? _housekeepingRuns;
    private bool _loaded;

    /// <summary>Creates a broker; call <see cref="StartAsync"/> to load its state and listen.</summary>
    /// <param name="options">Settings; every one has a default.</param>
    /// <param name="store">Durable state. The broker does not dispose it.</param>
    /// <param name="authenticator">Checks CONNECT credentials; default: anonymous clients only if <paramref name="options"/> allow... see <see cref="AnonymousAuthenticator"/>.</param>
    /// <param name="authorizer">Decides topic rights; default: everything is allowed.</param>
    /// <param name="logger">Where log lines go.</param>
    /// <param name="timeProvider">The clock; default: the system clock.</param>
    /// <param name="version">The product version shown under <c>$SYS/broker/version</c>.</param>
    public Broker(BrokerOptions options, IBrokerStore store, IAuthenticator? authenticator = null, IAuthorizer? authorizer = null,
        ILogger? logger = null, TimeProvider? timeProvider = null, string version = "0.0.0")
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        options.Validate();
        _state = new BrokerState(options, store, authorizer ?? new OpenAuthorizer(), logger ?? NullLogger.Instance, timeProvider ?? TimeProvider.System);
        _authenticator = authenticator ?? new AnonymousAuthenticator(allowAnonymous: false);
        var sender = new DeliverySender(_state, _state.Durability);
        _sender = sender;
        _router = new MessageRouter(_state, sender);
        _retained = new RetainedMessages(_state);
        _sessions = new SessionRegistry(_state, sender);
        var wills = new WillPublisher(_state, _router, _retained);
        var disconnects = new DisconnectHandler(_state, _sessions, wills);
        _disconnects = disconnects;
        _attacher = new SessionAttacher(_sessions, sender, wills, disconnects);
        _dispatcher = new PacketDispatcher(
            _state,
            new ConnectHandler(_state, _authenticator, _sessions, _attacher),
            new PublishHandler(_state, _router, _retained),
            sender,
            new SubscribeHandler(_state, _router, sender, _retained),
            disconnects);
        _housekeeping = new Housekeeping(_state, _sessions, wills, new SysTopicPublisher(_state, _router, _retained, version), sender);
        _admission = new ConnectionAdmission(options.MaxConnectionRatePerAddress, _state.Time);
    }

    /// <summary>The broker's counters (also published under <c>$SYS/broker/</c>).</summary>
    public BrokerCounters Counters => _state.Counters;

    /// <summary>Network connections that have not completed CONNECT yet.</summary>
    internal int PendingConnectionCount
    {
        get
        {
            lock (_state.Lock)
            {
                return _state.PendingConnections.Count;
            }
        }
    }

    /// <summary>Publishers whose reads are paused right now for a subscriber that does not keep up.</summary>
    internal int PublishersPaused => _state.PublishersPaused;

    /// <summary>Payload bytes written to the store and not yet committed (see <see cref="BrokerOptions.MaxUncommittedPayloadBytes"/>).</summary>
    internal long UncommittedPayloadBytes => _state.Durability.UncommittedPayloadBytes;

    /// <summary>QoS 1/2 deliveries held in memory, queued or in flight, over all sessions (tests check the window through it).</summary>
    internal int ResidentDeliveries
    {
        get
        {
            lock (_state.Lock)
            {
                return _state.Sessions.Values.Sum(s => (s.HasQueued ? s.Queued.Count : 0) + (s.HasInFlight ? s.InFlight.Count : 0) +
                    (s.Spilled is { } tail ? tail.Uncommitted.Count + (tail.HasPinned ? tail.Pinned.Count : 0) : 0));
            }
        }
    }

    /// <summary>
    /// Runs the housekeeping (session and message expiry, keep-alive, will delays, once a second) at
    /// this ticker's ticks instead of on a timer of the broker's own, so that it wakes the process
    /// together with the rest of its periodic work (see <see cref="IoTPE.Threading.Ticker"/>). The ticker
    /// must tick once a second on the system's clock, as the broker's <see cref="TimeProvider"/>
    /// then is. Set before <see cref="StartAsync"/>; null: a timer of the broker's own on its clock.
    /// </summary>
    public Ticker? Ticker { get; set; }

    /// <summary>Sees every client PUBLISH before routing and may refuse it. Set before <see cref="StartAsync"/>.</summary>
    public IMessageInterceptor? Interceptor
    {
        get => _state.Interceptor;
        set => _state.Interceptor = value;
    }

    /// <summary>Limits the bytes of retained messages per part of the topic tree (an account's namespace). Set before <see cref="StartAsync"/>.</summary>
    public IRetainedQuota? RetainedQuota
    {
        get => _state.RetainedQuota;
        set => _state.RetainedQuota = value;
    }

    /// <summary>
    /// The free-space watch of the data folder: below its reserve, clients' and scripts' messages that
    /// would be stored for clients' sessions, and retained messages, are refused (0x97); below its
    /// floor, also those for the engine's sessions. Set before <see cref="StartAsync"/>; null: never refused.
    /// </summary>
    public DiskReserve? DiskReserve
    {
        get => _state.DiskReserve;
        set => _state.DiskReserve = value;
    }

    /// <summary>The addresses the listeners are bound to (useful with port 0), in the order of <see cref="BrokerOptions.Listeners"/>.</summary>
    public IReadOnlyList<IPEndPoint> EndPoints => [.. _listeners.Select(l => l.LocalEndPoint)];

    /// <summary>
    /// Loads the stored state (sessions, queued messages, retained messages) without listening yet,
    /// so that in-process clients can connect before network clients do. <see cref="StartAsync"/>
    /// calls it if nobody did.
    /// </summary>
    public void LoadState()
    {
        if (_loaded)
        {
            return;
        }
        _loaded = true;
        _state.RunPass(() => StateLoader.Load(_state, _sessions));
    }

    /// <summary>Loads the stored state (unless <see cref="LoadState"/> did), then starts listening.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        LoadState();
        foreach (ListenerOptions listenerOptions in _state.Options.Listeners)
        {
            if (listenerOptions.IsPlainTcp)
            {
                _socketLoops ??= new SocketEventLoops(_state.Log);
            }
            var listener = new MqttListener(listenerOptions, Accept, _admission.Admit, _state.Log, _socketLoops);
            _listeners.Add(listener);
        }
        foreach (MqttListener listener in _listeners)
        {
            listener.Start();
        }
        _housekeepingRuns = new PeriodicWork(() => _state.RunPass(_housekeeping.Tick), Ticker, TimeSpan.FromSeconds(1), _state.Time);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Publishes <paramref name="message"/> as a client's PUBLISH is handled: a QoS 1/2 message
    /// that would overflow a subscriber's queue or an account's queue quota, or a retained message
    /// beyond its namespace's <see cref="RetainedQuota"/>, is refused whole instead of being dropped
    /// for some subscribers.
    /// </summary>
    public PublishOutcome TryPublish(ApplicationMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        PublishOutcome outcome = PublishOutcome.Published;
        _state.RunPass(() =>
        {
            _router.Plan(message);
            if (_router.Overflows(message))
            {
                outcome = PublishOutcome.QueueFull;
                return;
            }
            if (DiskReserveAdmission.Refuses(_state, _router, message, storesIncomingIdentifier: false))
            {
                outcome = PublishOutcome.DiskReserveReached;
                return;
            }
            if (message.Retain && !_retained.Update(message))
            {
                outcome = PublishOutcome.RetainedQuotaExceeded;
                return;
            }
            _router.Deliver(message);
        });
        return outcome;
    }

    /// <summary>
    /// Publishes as <see cref="TryPublish"/> does and completes once what the message's pass wrote
    /// (its place in every persistent session's queue, a retained entry) is committed: the bridge
    /// acknowledges a message to the remote broker only then. <see cref="PublishOutcome.StoreFailed"/>
    /// when the commit failed (the deliveries are dropped, as for a refused client PUBLISH).
    /// </summary>
    public Task<PublishOutcome> TryPublishDurablyAsync(ApplicationMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var done = new TaskCompletionSource<PublishOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        _state.RunPass(() =>
        {
            _router.Plan(message);
            PublishOutcome outcome = PublishOutcome.Published;
            if (_router.Overflows(message))
            {
                outcome = PublishOutcome.QueueFull;
            }
            else if (DiskReserveAdmission.Refuses(_state, _router, message, storesIncomingIdentifier: false))
            {
                outcome = PublishOutcome.DiskReserveReached;
            }
            else if (message.Retain && !_retained.Update(message))
            {
                outcome = PublishOutcome.RetainedQuotaExceeded;
            }
            if (outcome != PublishOutcome.Published)
            {
                done.TrySetResult(outcome);
                return;
            }
            _router.Deliver(message);
            _state.Durability.AfterCommit(durable => done.TrySetResult(durable ? PublishOutcome.Published : PublishOutcome.StoreFailed));
        });
        return done.Task;
    }

    /// <summary>
    /// Publishes a message from inside the process (the engine, the bridge): routed like a client's
    /// PUBLISH, without a publisher connection. A QoS 1/2 message for a session whose queue is full
    /// is dropped for it (<see cref="BrokerOptions.QueueOverflowPolicy"/>): use <see cref="TryPublish"/> to be refused instead. Retained when <see cref="ApplicationMessage.Retain"/> is set.
    /// </summary>
    /// <returns>
    /// <see cref="Mqtt.ReasonCode.QuotaExceeded"/>, and nothing published, when a retained message
    /// does not fit its <see cref="RetainedQuota"/>; otherwise <see cref="Mqtt.ReasonCode.Success"/>.
    /// </returns>
    public Mqtt.ReasonCode Publish(ApplicationMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Mqtt.ReasonCode outcome = Mqtt.ReasonCode.Success;
        _state.RunPass(() =>
        {
            if (message.Retain && !_retained.Update(message))
            {
                outcome = Mqtt.ReasonCode.QuotaExceeded;
                return;
            }
            _router.Route(message);
        });
        return outcome;
    }

    /// <summary>
    /// Removes what the broker holds for a user (an account that was removed): the sessions of the
    /// clients that logged in as <paramref name="userName"/>, with their subscriptions and queues
    /// (connected ones are disconnected with 0x98, without their wills), and the retained messages of
    /// <paramref name="namespaceTopic"/> and every topic below it. Completes once that is durable.
    /// </summary>
    /// <exception cref="IOException">The store could not commit the removal (the task faults).</exception>
    public Task<(int Sessions, int Retained)> RemoveUserDataAsync(string userName, string namespaceTopic)
    {
        ArgumentNullException.ThrowIfNull(userName);
        ArgumentNullException.ThrowIfNull(namespaceTopic);
        var done = new TaskCompletionSource<(int, int)>(TaskCreationOptions.RunContinuationsAsynchronously);
        _state.RunPass(() =>
        {
            int sessions = 0;
            foreach (Session session in _state.Sessions.Values.ToArray())
            {
                if (session.Identity.IsInternal || session.Identity.UserName != userName)
                {
                    continue;
                }
                session.ClearWill();
                if (session.Connection is NetworkConnection connection)
                {
                    connection.Disconnect(Mqtt.ReasonCode.AdministrativeAction, "the account was removed");
                    _disconnects.Detach(connection, "the account was removed", publishWill: false);
                }
                if (_state.Sessions.TryGetValue(session.ClientId, out Session? current) && ReferenceEquals(current, session))
                {
                    _sessions.End(session);
                }
                sessions++;
            }
            int retained = _retained.RemoveUnder(namespaceTopic);
            _state.Log.ClientDataRemoved(userName, sessions, retained, namespaceTopic);
            _state.Durability.AfterCommit(durable =>
            {
                if (durable)
                {
                    done.TrySetResult((sessions, retained));
                }
                else
                {
                    done.TrySetException(new IOException("the broker store could not commit the removal"));
                }
            });
        });
        return done.Task;
    }

    /// <summary>
    /// Connects an in-process client with a persistent session (never expiring), resuming the
    /// session if it exists: subscriptions made earlier still hold, and QoS 1 messages queued or
    /// unacknowledged before a restart are delivered again through <paramref name="onDelivery"/>.
    /// Connecting again with the same <paramref name="clientId"/> while the broker runs takes the
    /// session over as a network client's CONNECT does: the earlier <see cref="InternalClient"/>
    /// gets nothing more and its acknowledgements no longer count; what it had in flight is
    /// delivered again to the new one. Call after <see cref="LoadState"/> or <see cref="StartAsync"/>.
    /// </summary>
    /// <param name="clientId">The session's client identifier: <c>$iotpe/</c> and a name, e.g. <c>$iotpe/engine</c>.</param>
    /// <param name="maxInFlight">Most unacknowledged QoS 1 deliveries at once.</param>
    /// <param name="onDelivery">
    /// Receives each delivery in the order the broker sent it, on the thread of the pass that sent it once
    /// that pass has released the broker lock: queue it and return. Every delivery, QoS 0 too, must
    /// be passed to <see cref="InternalClient.Acknowledge"/> when done: QoS 0 deliveries not yet
    /// acknowledged count against <see cref="BrokerOptions.MaxQueuedMessages"/> and slow publishers
    /// down from <see cref="BrokerOptions.QueueBackpressureMessages"/> on.
    /// </param>
    public InternalClient ConnectInternalClient(string clientId, int maxInFlight, Action<InternalDelivery> onDelivery) =>
        ConnectInternalClient(clientId, maxInFlight, onDelivery, queueLimit: null);

    /// <summary>
    /// Connects an in-process client as <see cref="ConnectInternalClient(string, int, Action{InternalDelivery})"/>
    /// does, with a queue bound of its own (<paramref name="queueLimit"/>, the bridge's store-and-forward
    /// queue) in place of <see cref="BrokerOptions.MaxQueuedMessages"/>. Connect it before
    /// <see cref="StartAsync"/>, so that the bound holds from the first PUBLISH.
    /// </summary>
    /// <param name="clientId">As for <see cref="ConnectInternalClient(string, int, Action{InternalDelivery})"/>.</param>
    /// <param name="maxInFlight">As for <see cref="ConnectInternalClient(string, int, Action{InternalDelivery})"/>.</param>
    /// <param name="onDelivery">As for <see cref="ConnectInternalClient(string, int, Action{InternalDelivery})"/>.</param>
    /// <param name="queueLimit">The session's own queue bound, or null for the broker's.</param>
    /// <param name="receiveBeforeCommit">
    /// Take a QoS 1 delivery before its commit when it can be taken at once and the store can leave
    /// out what is acknowledged before it commits (<see cref="IBrokerStore.SkipsSettledWrites"/>).
    /// For a client whose handling is at-least-once and quick (the engine's runs): if the commit
    /// fails, the publisher is refused although the client had the message.
    /// </param>
    public InternalClient ConnectInternalClient(string clientId, int maxInFlight, Action<InternalDelivery> onDelivery, SessionQueueLimit? queueLimit, bool receiveBeforeCommit = false)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        ArgumentNullException.ThrowIfNull(onDelivery);
        if (!clientId.StartsWith(ClientIdentity.InternalClientIdPrefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"internal client identifiers start with {ClientIdentity.InternalClientIdPrefix}", nameof(clientId));
        }
        InternalClient? client = null;
        _state.RunPass(() =>
        {
            var identity = new ClientIdentity(clientId, null, null, ClientIdentity.InternalListener);
            // A queue with a bound of its own is meant to grow while its consumer is away (a bridge
            // whose remote is down): it does not slow down the publishers that feed it.
            int backpressure = queueLimit is null ? _state.Options.QueueBackpressureMessages : int.MaxValue;
            var connection = new InternalConnection(_state, maxInFlight, onDelivery, backpressure, _state.Options.MaxQueuedMessages)
            {
                ReceivesBeforeCommit = receiveBeforeCommit,
            };
            var terms = new SessionTerms(CleanStart: false, Mqtt.MqttProtocolVersion.V500, ExpiryIntervalSeconds: uint.MaxValue, Will: null);
            Session session = _attacher.Attach(connection, SessionKey.For(identity), identity, terms, out _);
            if (queueLimit is not null)
            {
                _state.QueueQuota.Limit(session, queueLimit);
            }
            client = new InternalClient(_state, _sender, session, connection);
            _attacher.Resume(session);
        });
        return client!;
    }

    /// <inheritdoc/>
    IDurableSession IBrokerPort.ConnectDurableSession(string clientId, int maxInFlight, Action<InternalDelivery> onDelivery, bool receiveBeforeCommit) =>
        ConnectInternalClient(clientId, maxInFlight, onDelivery, queueLimit: null, receiveBeforeCommit);

    /// <summary>
    /// Applies a change of rights (a revoked grant, a removed account) to what is already under
    /// way: QoS 1/2 deliveries in flight to a client that may no longer receive their topic are
    /// dropped, in memory and in the store, instead of being resent after a reconnect. Queued
    /// deliveries and live subscriptions need nothing: every message is authorized again when it
    /// is sent. Call it after the <see cref="IAuthorizer"/>'s answers changed.
    /// </summary>
    public void RecheckAuthorization()
    {
        _state.RunPass(() =>
        {
            foreach (Session session in _state.Sessions.Values)
            {
                if (!session.Identity.IsInternal)
                {
                    _sender.DropUnauthorizedInFlight(session);
                }
            }
        });
    }

    private void Accept(ITransport transport, string listener)
    {
        NetworkConnection? connection = null;
        _state.Lock.Enter();
        try
        {
            if (_state.Connections.Count >= _state.Options.MaxConnections)
            {
                _state.Counters.ConnectionsRefused++;
                _state.Log.ConnectionRejected(transport.RemoteEndPoint, $"connection limit of {_state.Options.MaxConnections} reached");
            }
            else
            {
                connection = new NetworkConnection(_state, _dispatcher, transport, listener);
                if (_state.PendingConnections.TryAdd(connection, out NetworkConnection? evicted))
                {
                    _state.Connections.Add(connection);
                    if (evicted is not null)
                    {
                        _state.Log.ConnectionRejected(evicted.RemoteEndPoint, $"closed to make room: {_state.Options.MaxPendingConnections} connections were waiting to complete CONNECT");
                        evicted.CloseAfterFlush();
                    }
                }
                else
                {
                    _state.Counters.ConnectionsRefused++;
                    _state.Log.ConnectionRejected(transport.RemoteEndPoint, $"{_state.Options.MaxPendingConnectionsPerAddress} connections from this address are waiting to complete CONNECT");
                    connection = null;
                }
            }
        }
        finally
        {
            _state.EndPassAndUnlock();
        }
        if (connection is null)
        {
            transport.Abort();
            return;
        }
        // The connection removes itself from the state when its read loop ends.
        _ = connection.RunAsync();
    }

    private int ConnectionCount()
    {
        lock (_state.Lock)
        {
            return _state.Connections.Count;
        }
    }

    /// <summary>Stops listening and closes every connection. Sessions stay in the store.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_housekeepingRuns is not null)
        {
            await _housekeepingRuns.DisposeAsync().ConfigureAwait(false);
        }
        foreach (MqttListener listener in _listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }
        Task connectionsGone = Task.CompletedTask;
        _state.RunPass(() =>
        {
            foreach (NetworkConnection connection in _state.Connections.ToArray())
            {
                connection.Disconnect(Mqtt.ReasonCode.ServerShuttingDown, "server shutting down");
            }
            connectionsGone = _state.WhenNoConnections();
        });
        try
        {
            // A client that does not read cannot hold the shutdown up for longer than this.
            await connectionsGone.WaitAsync(ShutdownGrace, _state.Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _state.Log.ShutdownConnectionsLingering(ConnectionCount(), ShutdownGrace);
        }
        // Closes the plain-TCP connections still lingering, as the runtime's engine would not.
        _socketLoops?.Dispose();
    }
}

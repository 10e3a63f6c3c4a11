using System.Text;
using System.Threading.Channels;
using IoTPE.Broker;
using IoTPE.Broker.Security;
using IoTPE.Engine.Accounts;
using IoTPE.Engine.Control;
using IoTPE.Engine.Scripts;
using IoTPE.Engine.Security;
using IoTPE.Mqtt;
using IoTPE.Scripting;
using IoTPE.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPE.Engine;

/// <summary>
/// The process engine of the seed: accounts that own the topic namespace <c>/&lt;account&gt;/...</c>,
/// authentication and deny-by-default authorization for the broker, the control topics through
/// which an account grants rights and manages its scripts, and the sandboxed JavaScript runs of
/// <c>/&lt;account&gt;/run/&lt;name&gt;</c> and <c>/&lt;account&gt;/runfile/&lt;name&gt;</c>. Create it, build the
/// <see cref="Broker.Broker"/> with its <see cref="Authenticator"/> and <see cref="Authorizer"/>, load
/// the broker's state, <see cref="Attach"/> the engine, then start the broker.
/// </summary>
public sealed class ProcessEngine : IMessageInterceptor, IAsyncDisposable
{
    /// <summary>The client identifier of the engine's durable internal session.</summary>
    public const string InternalClientId = ClientIdentity.InternalClientIdPrefix + "engine";

    private readonly EngineStores _stores;
    private readonly EngineOptions _options;
    private readonly AccountDirectory _directory;
    private readonly GrantControl _grants;
    private readonly ScriptCatalog _catalog;
    private readonly StoreWatch _storeWatch;
    private readonly ScriptManagement _scriptManagement;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly Channel<ControlRequest> _requests = Channel.CreateUnbounded<ControlRequest>(new UnboundedChannelOptions { SingleReader = true });
    private IBrokerPort? _broker;
    private ScriptRuntime? _runtime;
    private ScriptDispatcher? _dispatcher;
    private ScriptScheduler? _scheduler;
    private PinEdgeRuns? _edgeRuns;
    private readonly RunQueueCounts _runQueues;
    private Task? _controlWorker;
    private AccountRemoval? _removals;

    /// <summary>Creates the engine over its stores.</summary>
    /// <param name="stores">Accounts, scripts, key-value entries and the accounts' databases.</param>
    /// <param name="options">Script limits and folders.</param>
    /// <param name="allowAnonymous">Whether clients without credentials may connect (to topics outside every account's namespace).</param>
    /// <param name="logger">Where log lines go.</param>
    /// <param name="timeProvider">The clock.</param>
    public ProcessEngine(EngineStores stores, EngineOptions options, bool allowAnonymous, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(stores);
        ArgumentNullException.ThrowIfNull(options);
        _stores = stores;
        _options = options;
        _log = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _directory = new AccountDirectory(stores.Accounts);
        _directory.Changed += () => _log.AccountsReloaded(_directory.Current.Count);
        _directory.PollFailed += e => _log.StoreReadFailed(e);
        _grants = new GrantControl(_directory);
        _catalog = new ScriptCatalog(stores.Scripts);
        _catalog.PollFailed += e => _log.StoreReadFailed(e);
        Ticker = new Ticker("iotpe-tick", TimeSpan.FromSeconds(1), e => _log.TickFailed(e));
        _storeWatch = new StoreWatch(Ticker, _directory.Poll, _catalog.Poll);
        _scriptManagement = new ScriptManagement(_catalog, options.ScriptQuota, _directory, _log);
        _runQueues = new RunQueueCounts(options.MaxQueuedRunsPerAccount, _time);
        Authenticator = new AccountAuthenticator(_directory, allowAnonymous, new LoginLimiter(_time), _time, stores.PasswordCheck);
        Authorizer = new AccountAuthorizer(_directory);
    }

    /// <summary>
    /// The thread that runs the process's periodic work once a second: the engine's store polls, and
    /// the host gives it to the broker for its housekeeping (<see cref="Broker.Broker.Ticker"/>) so
    /// that both wake the process together. Stops when the engine is disposed.
    /// </summary>
    public Ticker Ticker { get; }

    /// <summary>Checks CONNECT credentials against the accounts.</summary>
    public IAuthenticator Authenticator { get; }

    /// <summary>Enforces the account namespaces and grants.</summary>
    public IAuthorizer Authorizer { get; }

    /// <summary>
    /// The gateway's pins for scripts' <c>gpio.read</c>/<c>gpio.write</c>; null (the default): scripts are
    /// told the gateway has none. Set before <see cref="Attach(Broker.Broker)"/>.
    /// </summary>
    public IScriptPins? Pins { get; set; }

    /// <summary>
    /// Runs the stored script <see cref="PinEdge.Script"/> of <see cref="PinEdge.Account"/> for a pin's
    /// edge, with <c>message.gpio</c>; its result and errors go where a scheduled run's go. Call after
    /// <see cref="Attach(Broker.Broker)"/>.
    /// </summary>
    /// <returns>False when the run was not started (no such account or script, too many edge runs waiting, stopping).</returns>
    public bool RunOnPinEdge(PinEdge edge)
    {
        ArgumentNullException.ThrowIfNull(edge);
        return _edgeRuns?.Start(edge) ?? false;
    }

    /// <summary>The accounts and grants in memory.</summary>
    public AccountDirectory Accounts => _directory;

    /// <summary>Starts seeing the broker's messages and running scripts. Call after <see cref="Broker.Broker.LoadState"/>.</summary>
    public void Attach(Broker.Broker broker)
    {
        ArgumentNullException.ThrowIfNull(broker);
        broker.Interceptor = this;
        broker.RetainedQuota = new AccountRetainedQuota(_options.MaxRetainedBytesPerAccount);
        // A revoke or a removed account also reaches deliveries already in flight.
        _directory.Changed += broker.RecheckAuthorization;
        Attach(broker, broker);
    }

    /// <summary>
    /// Starts publishing, running scripts and finishing account removals through the broker's ports only:
    /// everything after the wiring of the interceptor, the retained quota and the authorization re-check.
    /// </summary>
    internal void Attach(IBrokerPort broker, IUserDataRemoval userData)
    {
        _broker = broker;
        var services = new ScriptServices(broker, _directory, Authorizer, _stores.KeyValues, _stores.Databases, _options, _log) { RunQueues = _runQueues, Time = _time, Pins = Pins };
        _runtime = new ScriptRuntime(new ScriptRuntimeOptions
        {
            Limits = _options.Limits,
            WorkerCount = _options.ScriptWorkers,
            IdleHeapLifetime = _options.IdleHeapLifetime,
            TimeProvider = _time,
            // The dispatcher's per-account consumer goes on from a run's end on the worker
            // (ScriptDispatcher.ConsumeAsync: short steps, no blocking).
            ContinueRunsOnWorker = true,
        });
        var outcomes = new RunOutcomePublisher(services);
        _dispatcher = new ScriptDispatcher(services, _runtime, _catalog, new ScriptFiles(_options.ScriptFolder), outcomes, _runQueues, _stores.RunAttempts);
        // Run requests are taken before their commit: a run done and acknowledged before the store's
        // writer commits is never written or synced (IBrokerPort.ConnectDurableSession); runs are
        // at-least-once, so a request whose commit then fails may run again when it is resent.
        _dispatcher.Start(broker.ConnectDurableSession(InternalClientId, Math.Min(_options.MaxRunsInFlight, MaxEngineWindow), _dispatcher.OnDelivery, receiveBeforeCommit: true));
        _scheduler = new ScriptScheduler(services, _runtime, _catalog, outcomes, _time);
        _scheduler.Start();
        _edgeRuns = new PinEdgeRuns(services, _runtime, _catalog, outcomes);
        _controlWorker = Task.Run(ProcessControlRequestsAsync);
        _removals = new AccountRemoval(_directory, userData, _stores.Databases, _options.Limits.RunTimeout + TimeSpan.FromSeconds(1), _log, _time);
        _removals.Start();
    }

    // Packet identifiers of the internal session cycle through 65,535: the window stays below.
    private const int MaxEngineWindow = 60_000;

    /// <inheritdoc/>
    ReasonCode IMessageInterceptor.OnPublish(ClientIdentity publisher, ApplicationMessage message)
    {
        // Control topics: /<owner>/<grant action> and /<owner>/script/<request>[/<name>].
        if (!EngineTopic.TryParse(message.Topic, out EngineTopic topic))
        {
            return ReasonCode.Success;
        }
        // A QoS 1/2 request reaches the engine only after its commit, so its room is reserved until
        // then; a QoS 0 request is handed over at once (or dropped if the engine is behind), so
        // there is nothing to reserve and nothing that could leak.
        if (topic.StartsRun && !(message.QoS == QualityOfService.AtMostOnce
                ? _runQueues.Admits(topic.Account, out int queued, out long refused)
                : _runQueues.TryReserve(topic.Account, message, out queued, out refused)))
        {
            // Refused before it is acknowledged: the publisher keeps it (0x97 in 5.0, no PUBACK in 3.1.1).
            _log.RunQueueFull(topic.Account, message.Topic, queued, refused);
            return ReasonCode.QuotaExceeded;
        }
        if (topic.Kind is EngineTopicKind.GrantControl or EngineTopicKind.ScriptControl)
        {
            Enqueue(new ControlRequest(topic.Account, topic.Request!, topic.Name, publisher.UserName, message.Payload, IsScript: topic.Kind == EngineTopicKind.ScriptControl));
        }
        return ReasonCode.Success;
    }

    // Handled off the broker lock: they write the engine's database.
    private void Enqueue(ControlRequest request) => _requests.Writer.TryWrite(request);

    private async Task ProcessControlRequestsAsync()
    {
        await foreach (ControlRequest request in _requests.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            byte[] result;
            try
            {
                result = request.IsScript
                    ? _scriptManagement.Handle(request.Owner, request.Action, request.Name, request.Publisher, request.Payload.Span)
                    : _grants.Handle(request.Owner, request.Action, request.Publisher, request.Payload.Span);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _log.ControlFailed(request.Owner, e.Message);
                result = Encoding.UTF8.GetBytes($$"""{"ok":false,"request":"{{request.Action}}","error":"internal error"}""");
            }
            string resultTopic = "/" + request.Owner + "/" + (request.IsScript ? ScriptManagement.ResultTopic : GrantControl.ResultTopic);
            _log.ControlHandled(request.Owner, request.Action, result.Length > 300 ? Encoding.UTF8.GetString(result, 0, 300) + "..." : Encoding.UTF8.GetString(result));
            _broker?.Publish(new ApplicationMessage(resultTopic, result, QualityOfService.AtLeastOnce, retain: false));
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        _requests.Writer.TryComplete();
        if (_removals is not null)
        {
            await _removals.DisposeAsync().ConfigureAwait(false);
        }
        if (_controlWorker is not null)
        {
            await _controlWorker.ConfigureAwait(false);
        }
        if (_scheduler is not null)
        {
            await _scheduler.DisposeAsync().ConfigureAwait(false);
        }
        _edgeRuns?.Stop();
        if (_dispatcher is not null)
        {
            await _dispatcher.DisposeAsync().ConfigureAwait(false);
        }
        _runtime?.Dispose();
        _storeWatch.Dispose();
        Ticker.Dispose();
        (Authenticator as IDisposable)?.Dispose();
    }

    private sealed record ControlRequest(string Owner, string Action, string? Name, string? Publisher, ReadOnlyMemory<byte> Payload, bool IsScript);
}

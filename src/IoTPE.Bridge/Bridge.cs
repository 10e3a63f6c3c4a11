using System.Globalization;
using System.Text;
using System.Threading.Channels;
using IoTPE.Broker;
using IoTPE.Threading;
using Microsoft.Extensions.Logging;

namespace IoTPE.Bridge;

/// <summary>
/// A bridge from this broker to a remote one (a central <c>iotpe</c>, or any MQTT 3.1.1/5.0 broker).
/// It adds no queue of its own: its two halves already keep the guarantees.
/// <list type="bullet">
/// <item><b>Local side</b>: an in-process client with the persistent session <c>$iotpe/bridge/&lt;name&gt;</c>
/// subscribed at QoS 1 to the <c>forward</c> filters. A message's place in that session's queue is
/// committed before its publisher is acknowledged (the broker's durability contract), survives
/// <c>kill -9</c>, and the queue's own bound (<see cref="SessionQueueLimit"/>) refuses publishers
/// (0x97) instead of dropping anything.</item>
/// <item><b>Remote side</b>: an <see cref="MqttClient"/> with its SQLite state file (QoS 2 state,
/// packet identifiers, PUBREC received) and message identities. Each local delivery is published
/// with the identity <c>m&lt;store id&gt;</c> and acknowledged locally only when the remote completed
/// it (PUBCOMP, or PUBACK when it granted QoS 1). A crash before the local acknowledgement delivers
/// it again; the client recognises the identity (still pending, or delivered) and does not send it
/// a second time.</item>
/// </list>
/// Messages from the <c>receive</c> filters are published locally as the bridge's own client, so
/// the forward subscription's No Local (MQTT 5.0 §3.8.3.1) keeps them from going back; the client
/// acknowledges them to the remote only after the local commit.
/// </summary>
public sealed class Bridge : IAsyncDisposable
{
    private readonly global::IoTPE.Broker.Broker _broker;
    private readonly BridgeOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<InternalDelivery> _deliveries = Channel.CreateUnbounded<InternalDelivery>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly MqttClient _client;
    private readonly TopicMapping _topics;
    private readonly SubscribedFilters _subscribed;
    private readonly Ticker _ticker;
    private readonly Action _monitorTick;
    private InternalClient? _local;
    private Task _reconciling = Task.CompletedTask;
    private Task _forwarding = Task.CompletedTask;
    private long _forwarded;
    private long _received;
    private long _dropped;
    private string? _lastError;
    // Read and written by Monitor only, one call at a time (the first from StartAsync, then the ticker).
    private bool _atBound;
    private long _lastRefused;
    private int _monitorTicks;

    /// <summary>Creates the bridge; <see cref="Attach"/> and <see cref="StartAsync"/> start it.</summary>
    /// <param name="broker">The local broker.</param>
    /// <param name="options">The bridge's configuration.</param>
    /// <param name="ticker">
    /// Runs the bridge's once-a-second watch (its queue bound, its <c>$SYS</c> topics) with the
    /// process's other periodic work, so that an idle gateway with a bridge wakes once a second, not
    /// once per timer; it must outlive the bridge.
    /// </param>
    /// <param name="logger">Where connections, losses of the link and the queue bound are logged.</param>
    public Bridge(global::IoTPE.Broker.Broker broker, BridgeOptions options, Ticker ticker, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(ticker);
        ArgumentNullException.ThrowIfNull(logger);
        foreach (string filter in options.Forward.Concat(options.Receive).Append(options.LocalPrefix).Append(options.RemotePrefix))
        {
            if (filter.AsSpan().ContainsAny('\n', '\r'))
            {
                throw new ArgumentException($"bridge {options.Name}: a filter or prefix holds a line break", nameof(options));
            }
        }
        _broker = broker;
        _options = options;
        _ticker = ticker;
        _monitorTick = Monitor;
        _logger = logger;
        _topics = new TopicMapping(options.LocalPrefix, options.RemotePrefix);
        _subscribed = SubscribedFilters.Read(options.SubscriptionsPath);
        _client = new MqttClient(new MqttClientOptions
        {
            Host = options.Host,
            Port = options.Port,
            ClientId = options.ClientId,
            UserName = options.UserName,
            Password = options.Password,
            Tls = options.Tls,
            ProtocolVersion = options.ProtocolVersion,
            StatePath = options.StatePath,
            MaxInflight = options.MaxInflight,
            KeepAlive = options.KeepAlive,
            // A message the local broker cannot take now (its disk reserve, a full queue) is retried
            // for as long as it takes: dead-lettering it would lose it.
            HandlerMaxAttempts = null,
        }, logger);
        _client.ConnectionStateChanged += OnConnectionStateChanged;
    }

    /// <summary>The bridge's name.</summary>
    public string Name => _options.Name;

    /// <summary>
    /// Connects the local session and subscribes it to the <c>forward</c> filters (No Local). Call it
    /// after <see cref="global::IoTPE.Broker.Broker.LoadState"/> and before the broker's listeners open, so
    /// that the queue's bound holds from the first PUBLISH.
    /// </summary>
    public void Attach()
    {
        _local = _broker.ConnectInternalClient(_options.LocalClientId, _options.Window, OnDelivery,
            new SessionQueueLimit(_options.MaxQueuedMessages, _options.MaxQueuedBytes));
        // Recorded before they are subscribed (with those about to go), so the record never names fewer
        // filters than the sessions may hold.
        _subscribed.Forward.UnionWith(_options.Forward.Select(_topics.LocalFilter));
        _subscribed.Receive.UnionWith(_options.Receive.Select(_topics.RemoteFilter));
        _subscribed.Write();
        foreach (string filter in _options.Forward)
        {
            _local.Subscribe(_topics.LocalFilter(filter), QualityOfService.AtLeastOnce);
        }
        foreach (string removed in RemovedFilters(_subscribed.Forward, _options.Forward.Select(_topics.LocalFilter)))
        {
            _ = UnsubscribeLocalAsync(removed);
        }
    }

    // Leaves the record only once the local session's removal is durable: the record never names
    // fewer filters than the session may hold after a crash.
    private async Task UnsubscribeLocalAsync(string filter)
    {
        if (!await _local!.UnsubscribeAsync(filter).ConfigureAwait(false))
        {
            return; // not durable: still recorded, removed at the next start
        }
        lock (_subscribed)
        {
            _subscribed.Forward.Remove(filter);
            _subscribed.Write();
        }
        _logger.BridgeLocalFilterRemoved(Name, filter);
    }

    /// <summary>Opens the remote client's state file, subscribes the <c>receive</c> filters and starts forwarding; connects in the background.</summary>
    public async Task StartAsync()
    {
        if (_local is null)
        {
            throw new InvalidOperationException("Attach the bridge before starting it.");
        }
        foreach (string filter in _options.Receive)
        {
            // Completes at SUBACK, which may be much later: not awaited.
            // No Local (5.0): what this bridge forwards does not come back through a receive filter
            // that also matches it. A 3.1.1 remote cannot be asked (documented limit).
            _ = _client.SubscribeAsync(_topics.RemoteFilter(filter), OnRemoteMessageAsync, QualityOfService.ExactlyOnce, noLocal: true, _stopping.Token)
                .ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        // The remote session keeps a subscription until it is removed: a receive filter taken out of the
        // configuration is unsubscribed (at UNSUBACK, once connected), then dropped from the record.
        List<string> removed = RemovedFilters(_subscribed.Receive, _options.Receive.Select(_topics.RemoteFilter));
        if (removed.Count > 0)
        {
            _reconciling = UnsubscribeRemoteAsync(removed, _stopping.Token);
        }
        await _client.StartAsync(_stopping.Token).ConfigureAwait(false);
        _forwarding = ForwardAsync(_stopping.Token);
        Monitor(); // the $SYS topics at once, then every tick
        _ticker.Add(_monitorTick);
        _logger.BridgeStarted(Name, string.Join(", ", _options.Forward), _options.Host, _options.Port, string.Join(", ", _options.Receive), _local.ReadQueue().Messages);
    }

    private static List<string> RemovedFilters(HashSet<string> recorded, IEnumerable<string> configured)
    {
        var current = new HashSet<string>(configured, StringComparer.Ordinal);
        return [.. recorded.Where(filter => !current.Contains(filter)).Order(StringComparer.Ordinal)];
    }

    private async Task UnsubscribeRemoteAsync(List<string> filters, CancellationToken cancellationToken)
    {
        try
        {
            foreach (string filter in filters)
            {
                // The client sends it once connected and again on each connection until UNSUBACK.
                await _client.UnsubscribeAsync(filter, cancellationToken).ConfigureAwait(false);
                _logger.BridgeRemoteFilterRemoved(Name, filter);
            }
            lock (_subscribed)
            {
                _subscribed.Receive.ExceptWith(filters);
                _subscribed.Write();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped first: still in the record, unsubscribed at the next start.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or MqttRejectedException)
        {
            Volatile.Write(ref _lastError, $"removing a receive filter: {e.Message}");
        }
    }

    /// <summary>The bridge's state now.</summary>
    public BridgeStatus GetStatus()
    {
        (long messages, long bytes, long refused, long oldestStoredAt) = _local?.ReadQueue() ?? default;
        long oldestAge = oldestStoredAt == 0 ? 0 : Math.Max(0, (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - oldestStoredAt) / 1000);
        return new BridgeStatus(Name, _client.IsConnected, messages, bytes, oldestAge, Interlocked.Read(ref _forwarded), Interlocked.Read(ref _received),
            refused, Interlocked.Read(ref _dropped), Volatile.Read(ref _lastError));
    }

    // On a broker thread, under its lock: only queue it.
    private void OnDelivery(InternalDelivery delivery) => _deliveries.Writer.TryWrite(delivery);

    private async Task ForwardAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (InternalDelivery delivery in _deliveries.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                Forward(delivery);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: what was not acknowledged is delivered again after the restart.
        }
    }

    private void Forward(InternalDelivery delivery)
    {
        ApplicationMessage message = delivery.Message;
        var outgoing = new MqttMessage(_topics.ToRemote(message.Topic), message.Payload)
        {
            QoS = delivery.QoS == QualityOfService.AtMostOnce ? QualityOfService.AtMostOnce : message.QoS,
            Retain = message.Retain,
            Properties = message.Properties,
        };
        if (delivery.QoS == QualityOfService.AtMostOnce)
        {
            // QoS 0 is not queued for an absent remote (as for any subscriber): dropped and counted.
            if (_client.IsConnected)
            {
                _client.Publish(outgoing);
                Interlocked.Increment(ref _forwarded);
            }
            else
            {
                Interlocked.Increment(ref _dropped);
            }
            _local!.Acknowledge(delivery);
            return;
        }
        // The store id names the message for as long as the delivery is queued, and ids keep
        // increasing across restarts: a redelivery after a crash carries the same identity, a new
        // message never one seen before.
        string? identity = delivery.StoreId != 0 ? "m" + delivery.StoreId.ToString(CultureInfo.InvariantCulture) : null;
        PublishResult result = _client.Publish(outgoing, identity);
        _ = CompleteAsync(delivery, result);
    }

    private async Task CompleteAsync(InternalDelivery delivery, PublishResult result)
    {
        try
        {
            await result.Delivered.ConfigureAwait(false);
            Interlocked.Increment(ref _forwarded);
        }
        catch (MqttRejectedException e)
        {
            // The remote refused it for good (not authorized, ...): keeping it would block nothing
            // but would keep it for ever; it is counted and logged instead.
            Interlocked.Increment(ref _dropped);
            Volatile.Write(ref _lastError, $"the remote refused '{delivery.Message.Topic}': {e.Message}");
            _logger.BridgeRemoteRefused(Name, delivery.Message.Topic, e.Message);
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            return; // not acknowledged: delivered again after the restart, recognised by its identity
        }
        _local!.Acknowledge(delivery);
    }

    private async ValueTask OnRemoteMessageAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        var local = new ApplicationMessage(_topics.ToLocal(message.Topic), message.Payload.ToArray(), message.QoS, message.Retain, message.Properties)
        {
            // Published as the bridge's own client: No Local keeps it from going back to the remote.
            PublisherClientId = _options.LocalClientId,
        };
        PublishOutcome outcome = await _broker.TryPublishDurablyAsync(local).ConfigureAwait(false);
        if (outcome != PublishOutcome.Published)
        {
            _logger.BridgeLocalRefused(Name, message.Topic, outcome.ToString());
            Volatile.Write(ref _lastError, $"'{message.Topic}' from the remote not published locally: {outcome}");
            // Not acknowledged to the remote: the client hands it over again after its retry delay.
            throw new InvalidOperationException($"not published locally: {outcome}");
        }
        Interlocked.Increment(ref _received);
    }

    private void OnConnectionStateChanged(object? sender, ConnectionStateChangedEventArgs change)
    {
        if (change.IsConnected)
        {
            _logger.BridgeConnected(Name, _options.Host, _options.Port, _options.ClientId, change.SessionPresent);
            return;
        }
        string reason = change.Error?.Message ?? "connection closed";
        Volatile.Write(ref _lastError, reason);
        _logger.BridgeDisconnected(Name, _options.Host, _options.Port, reason, change.NextAttemptIn);
    }

    // Once a second: notes reaching and leaving the bound (logged once per episode); every
    // SysInterval seconds: the $SYS topics.
    private void Monitor()
    {
        BridgeStatus status = GetStatus();
        if (status.Refused > _lastRefused && !_atBound)
        {
            _atBound = true;
            _logger.BridgeBoundReached(Name, status.QueuedMessages, status.QueuedBytes, _options.MaxQueuedMessages, _options.MaxQueuedBytes, status.Refused);
        }
        else if (status.Refused == _lastRefused)
        {
            _atBound = false;
        }
        _lastRefused = status.Refused;
        if (_options.SysInterval > 0 && _monitorTicks++ % _options.SysInterval == 0)
        {
            PublishSys(status);
        }
    }

    private void PublishSys(BridgeStatus status)
    {
        string prefix = "$SYS/broker/bridge/" + Name + "/";
        PublishSys(prefix + "connected", status.Connected ? "1" : "0");
        PublishSys(prefix + "queued messages", status.QueuedMessages.ToString(CultureInfo.InvariantCulture));
        PublishSys(prefix + "queued bytes", status.QueuedBytes.ToString(CultureInfo.InvariantCulture));
        PublishSys(prefix + "oldest queued age", status.OldestQueuedAgeSeconds.ToString(CultureInfo.InvariantCulture));
        PublishSys(prefix + "forwarded", status.Forwarded.ToString(CultureInfo.InvariantCulture));
        PublishSys(prefix + "received", status.Received.ToString(CultureInfo.InvariantCulture));
        PublishSys(prefix + "refused", status.Refused.ToString(CultureInfo.InvariantCulture));
        PublishSys(prefix + "dropped", status.Dropped.ToString(CultureInfo.InvariantCulture));
        PublishSys(prefix + "last error", status.LastError ?? "");
    }

    private void PublishSys(string topic, string value) =>
        _broker.Publish(new ApplicationMessage(topic, Encoding.UTF8.GetBytes(value), QualityOfService.AtMostOnce, retain: true));

    /// <summary>Stops forwarding and closes the remote client; what is not completed stays queued for the next start.</summary>
    public async ValueTask DisposeAsync()
    {
        _ticker.Remove(_monitorTick); // a no-op if never added; returns once a tick running it has ended
        await _stopping.CancelAsync().ConfigureAwait(false);
        _deliveries.Writer.TryComplete();
        await _forwarding.ConfigureAwait(false);
        await _reconciling.ConfigureAwait(false);
        _client.ConnectionStateChanged -= OnConnectionStateChanged;
        await _client.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}

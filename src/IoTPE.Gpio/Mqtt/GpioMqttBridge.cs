using System.Globalization;
using System.Text;
using System.Threading.Channels;
using IoTPE.Broker;
using IoTPE.Mqtt;
using IoTPE.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IoTPE.Gpio.Mqtt;

/// <summary>
/// The pins on MQTT, so dashboards and other services use them without scripts: every state is
/// published retained at QoS 1 on <see cref="PinTopics.State"/>; a publish to
/// <see cref="PinTopics.Set"/> drives an output, and is refused on <see cref="PinTopics.SetError"/>
/// for an input, a pin in its error state or a malformed value. Who may read or publish these
/// topics is the broker's authorizer's decision, as for any topic, so grants work for pins too.
/// Also keeps <c>$SYS/broker/gpio/edges/reported</c> and <c>$SYS/broker/gpio/edges/coalesced</c>.
/// </summary>
public sealed class GpioMqttBridge : IAsyncDisposable
{
    /// <summary>The client identifier of the in-process session that receives set requests.</summary>
    public const string ClientId = "$iotpe/gpio";

    private readonly GpioPins _pins;
    private readonly IBrokerPort _broker;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly Channel<InternalDelivery> _requests = Channel.CreateUnbounded<InternalDelivery>(new UnboundedChannelOptions { SingleReader = true });
    private IDurableSession? _session;
    private Task? _worker;
    private PeriodicWork? _counters;
    private long _reportedPublished = -1;
    private long _coalescedPublished = -1;

    /// <param name="pins">The pins; call <see cref="Start"/> before <see cref="GpioPins.Open"/>, so that the states at start are published.</param>
    /// <param name="broker">Where states are published and set requests come from.</param>
    /// <param name="log">Where refusals are logged.</param>
    /// <param name="time">The clock of the <c>$SYS</c> counters.</param>
    public GpioMqttBridge(GpioPins pins, IBrokerPort broker, ILogger? log = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(pins);
        ArgumentNullException.ThrowIfNull(broker);
        _pins = pins;
        _broker = broker;
        _log = log ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// Where the <c>$SYS</c> counters are looked at once a second: at this ticker's ticks, in the one
    /// wake-up the process's other periodic work shares. Without it they have a .NET timer of their
    /// own, and each tick of one wakes about four threads. Set before <see cref="Start"/>.
    /// </summary>
    public Ticker? Ticker { get; init; }

    /// <summary>Starts publishing states and taking set requests.</summary>
    public void Start()
    {
        _pins.Changed += PublishState;
        _worker = Task.Run(HandleRequestsAsync);
        // QoS 0: a set is an order for now; replaying orders queued before a restart would drive
        // outputs to values nobody asked for any more.
        _session = _broker.ConnectDurableSession(ClientId, maxInFlight: 1000, delivery => _requests.Writer.TryWrite(delivery));
        _session.Subscribe(PinTopics.SetFilter, QualityOfService.AtMostOnce);
        PublishChangedCounters();
        _counters = new PeriodicWork(PublishChangedCounters, Ticker, TimeSpan.FromSeconds(1), _time);
    }

    private void PublishState(PinState state) =>
        _broker.Publish(new ApplicationMessage(PinTopics.State(state.Account, state.Name), PinStateJson.Write(state), QualityOfService.AtLeastOnce, retain: true,
            new PublishProperties { ContentType = "application/json" }));

    private async Task HandleRequestsAsync()
    {
        await foreach (InternalDelivery delivery in _requests.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                Handle(delivery.Message);
            }
            finally
            {
                _session!.Acknowledge(delivery);
            }
        }
    }

    private void Handle(ApplicationMessage message)
    {
        if (!PinTopics.TryParseSet(message.Topic, out string account, out string name))
        {
            return;
        }
        string? reason = null;
        int? value = PinStateJson.ParseSetValue(message.Payload.Span);
        if (value is null)
        {
            reason = "malformed value: expected 0, 1, true, false or {\"value\": 0|1|true|false}";
        }
        else
        {
            try
            {
                _pins.Write(account, name, value.Value);
            }
            catch (PinAccessException e)
            {
                reason = e.Message;
            }
        }
        if (reason is null)
        {
            return;
        }
        string shown = Encoding.UTF8.GetString(message.Payload.Span[..Math.Min(message.Payload.Length, 64)]);
        _log.SetRefused(account, name, shown, reason);
        _broker.Publish(new ApplicationMessage(PinTopics.SetError(account, name), PinStateJson.Refusal(name, reason), QualityOfService.AtLeastOnce, retain: false,
            new PublishProperties { ContentType = "application/json", UserProperties = [new UserProperty("status", "error")] }));
    }

    // Published when they change, at most once a second: a chattering input moves them constantly.
    private void PublishChangedCounters()
    {
        long r = _pins.EdgesReported, c = _pins.EdgesCoalesced;
        if (r != _reportedPublished || c != _coalescedPublished)
        {
            (_reportedPublished, _coalescedPublished) = (r, c);
            PublishCounter("$SYS/broker/gpio/edges/reported", r);
            PublishCounter("$SYS/broker/gpio/edges/coalesced", c);
        }
    }

    private void PublishCounter(string topic, long value) =>
        _broker.Publish(new ApplicationMessage(topic, Encoding.UTF8.GetBytes(value.ToString(CultureInfo.InvariantCulture)), QualityOfService.AtMostOnce, retain: true));

    /// <summary>
    /// Completes once the states published so far are committed (retained) and handed to their
    /// subscribers' connections: called after the pins went to their safe values, before the broker
    /// closes the connections, so that the subscribers see the safe values too. A round trip through
    /// the store's single writer (<see cref="InternalClient.ProbeStoreAsync"/>), which commits in order.
    /// </summary>
    public Task WhenPublishedAsync() => _session is InternalClient client ? client.ProbeStoreAsync() : Task.CompletedTask;

    /// <summary>Stops taking requests. The pins' last states (safe values) are still published while the pins are disposed after this.</summary>
    public async ValueTask DisposeAsync()
    {
        _requests.Writer.TryComplete();
        if (_worker is not null)
        {
            await _worker.ConfigureAwait(false);
        }
        if (_counters is not null)
        {
            await _counters.DisposeAsync().ConfigureAwait(false);
        }
    }
}

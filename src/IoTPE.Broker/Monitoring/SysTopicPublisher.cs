using System.Globalization;
using System.Text;
using IoTPE.Broker.Routing;
using IoTPE.Broker.Storage;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Monitoring;

/// <summary>
/// Publishes the broker's counters as retained messages under <c>$SYS/broker/</c>, with Mosquitto's
/// topic names, so existing dashboards work. They live in memory only: they are recomputed, not stored.
/// </summary>
/// <remarks>
/// Like Mosquitto, a value is published only when it differs from the one last published: the
/// retained message already tells every new subscriber the unchanged value, and an idle gateway
/// then republishes only its uptime and heap figures (a full round was ~0.5 ms of the ticker's
/// thread every interval).
/// </remarks>
internal sealed class SysTopicPublisher
{
    private readonly BrokerState _state;
    private readonly MessageRouter _router;
    private readonly RetainedMessages _retained;
    private readonly long _startedAt;
    private readonly string _version;
    private readonly Dictionary<string, string> _published = new(StringComparer.Ordinal); // topic → value last published

    public SysTopicPublisher(BrokerState state, MessageRouter router, RetainedMessages retained, string version)
    {
        _state = state;
        _router = router;
        _retained = retained;
        _version = version;
        _startedAt = state.Time.GetTimestamp();
    }

    /// <summary>Publishes every counter that changed since the last call. Called under the broker lock.</summary>
    public void PublishAll()
    {
        BrokerCounters c = _state.Counters;
        Publish("$SYS/broker/version", "iotpe " + _version);
        Publish("$SYS/broker/uptime", $"{(long)_state.Time.GetElapsedTime(_startedAt).TotalSeconds} seconds");
        Publish("$SYS/broker/clients/connected", c.ClientsConnected);
        Publish("$SYS/broker/clients/maximum", c.ClientsMaximum);
        Publish("$SYS/broker/clients/total", c.Sessions);
        Publish("$SYS/broker/clients/refused", c.ConnectionsRefused);
        Publish("$SYS/broker/messages/received", c.MessagesReceived);
        Publish("$SYS/broker/messages/sent", c.MessagesSent);
        Publish("$SYS/broker/publish/messages/dropped", c.MessagesDropped);
        Publish("$SYS/broker/publish/messages/refused", c.PublishesRefused);
        Publish("$SYS/broker/retained messages/count", c.RetainedMessages);
        Publish("$SYS/broker/subscriptions/count", c.Subscriptions);
        Publish("$SYS/broker/bytes/received", c.BytesReceived);
        Publish("$SYS/broker/bytes/sent", c.BytesSent);
        Publish("$SYS/broker/store/bytes", _state.Store.StoredBytes);
        Publish("$SYS/broker/store/resident payload bytes", c.ResidentPayloadBytes);
        Publish("$SYS/broker/store/payloads paged out", c.PayloadsPagedOut);
        Publish("$SYS/broker/store/payloads read back", c.PayloadsReadBack);
        Publish("$SYS/broker/store/spilled deliveries", c.SpilledDeliveries);
        if (_state.DiskReserve is { IsEnabled: true } disk)
        {
            // Reads the free space again if stale, so the gauge is at most one refresh interval old.
            Publish("$SYS/broker/store/disk/level", disk.Level.ToString().ToLowerInvariant());
            Publish("$SYS/broker/store/disk/free", disk.AvailableBytes);
            Publish("$SYS/broker/store/disk/reserve", disk.ReserveBytes);
            Publish("$SYS/broker/store/disk/refused", disk.Refusals);
            Publish("$SYS/broker/store/disk/transitions", disk.Transitions);
        }
        Publish("$SYS/broker/heap/current", GC.GetTotalMemory(forceFullCollection: false));
        Publish("$SYS/broker/heap/allocated", GC.GetTotalAllocatedBytes());
    }

    private void Publish(string topic, long value) => Publish(topic, value.ToString(CultureInfo.InvariantCulture));

    private void Publish(string topic, string value)
    {
        if (_published.TryGetValue(topic, out string? published) && published == value)
        {
            return;
        }
        _published[topic] = value;
        var message = new ApplicationMessage(topic, Encoding.UTF8.GetBytes(value), QualityOfService.AtMostOnce, retain: true);
        _retained.Update(message);
        _router.Route(message);
    }
}

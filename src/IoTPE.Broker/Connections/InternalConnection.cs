using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Connections;

/// <summary>
/// The connection of an in-process client (the engine, the bridge): deliveries are handed over as
/// objects instead of being encoded, and acknowledged by a call. Only QoS 0 and 1 are used.
/// </summary>
internal sealed class InternalConnection : IClientConnection
{
    private readonly Action<InternalDelivery> _deliver;
    private readonly Session _session;
    private readonly int _queueBackpressureMessages;

    public InternalConnection(int sendWindow, Action<InternalDelivery> deliver, Session session, int queueBackpressureMessages)
    {
        SendWindow = sendWindow;
        _deliver = deliver;
        _session = session;
        _queueBackpressureMessages = queueBackpressureMessages;
    }

    public MqttProtocolVersion ProtocolVersion => MqttProtocolVersion.V500;

    public int SendWindow { get; }

    public int IncomingInFlight { get; set; }

    public bool AcceptsQoS0 => true;

    // The engine falling behind (slow scripts) slows down the network clients that feed it, as a
    // slow subscriber does, before its queue reaches MaxQueuedMessages.
    public bool IsCongested => _session.Queued.Count >= _queueBackpressureMessages;

    public bool SendPublish(ApplicationMessage message, QualityOfService qos, bool retain, bool dup, ushort packetIdentifier, uint[]? subscriptionIdentifiers, long nowUnixMs)
    {
        _deliver(new InternalDelivery(message, qos, packetIdentifier, dup));
        return true;
    }

    public void Send<TPacket>(in TPacket packet) where TPacket : IMqttPacket
    {
        // Internal clients subscribe at QoS 0 or 1, so no PUBREL ever goes to them; control
        // packets have no meaning in-process.
    }

    public void Disconnect(ReasonCode reasonCode, string? reasonString)
    {
    }
}

using IoTPE.Mqtt;

namespace IoTPE.Broker.Connections;

/// <summary>
/// The connection of an in-process client (the engine, the bridge): deliveries are handed over as
/// objects instead of being encoded, and acknowledged by a call. Only QoS 0 and 1 are used.
/// </summary>
internal sealed class InternalConnection : IClientConnection
{
    private readonly Action<InternalDelivery> _deliver;

    public InternalConnection(int sendWindow, Action<InternalDelivery> deliver)
    {
        SendWindow = sendWindow;
        _deliver = deliver;
    }

    public MqttProtocolVersion ProtocolVersion => MqttProtocolVersion.V500;

    public int SendWindow { get; }

    public int IncomingInFlight { get; set; }

    public bool AcceptsQoS0 => true;

    public bool IsCongested => false;

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

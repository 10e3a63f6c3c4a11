using IoTPE.Mqtt;

namespace IoTPE.Client.Transport;

/// <summary>Receives the packets a connection reads. Throwing ends the connection.</summary>
internal interface IPacketSink
{
    /// <summary>One packet; its body is valid only during the call.</summary>
    void OnPacket(MqttConnection source, in PacketFrame frame);
}

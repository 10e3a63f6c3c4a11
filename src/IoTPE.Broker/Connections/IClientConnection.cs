using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;

namespace IoTPE.Broker.Connections;

/// <summary>
/// What the broker needs from the connection a session is attached to: a network client, or an
/// in-process client of the engine. Called under the broker lock; implementations only buffer.
/// </summary>
internal interface IClientConnection
{
    MqttProtocolVersion ProtocolVersion { get; }

    /// <summary>The session the connection is attached to; null before it is attached and once it is detached.</summary>
    Session? Session { get; }

    /// <summary>The connection now carries <paramref name="session"/> (see <see cref="Protocol.SessionAttacher"/>).</summary>
    void AttachTo(Session session);

    /// <summary>The session no longer runs over this connection (it ended, went away or was taken over).</summary>
    void DetachFromSession();

    /// <summary>Most QoS 1/2 messages in flight to the client at once (its Receive Maximum, §3.1.2.11.3).</summary>
    int SendWindow { get; }

    /// <summary>QoS 1/2 PUBLISH packets received from the client and not yet answered with PUBACK or PUBCOMP (§4.9).</summary>
    int IncomingInFlight { get; }

    /// <summary>A QoS 1/2 PUBLISH arrived: counts it and returns the new count. Under the broker lock.</summary>
    int AdmitIncoming();

    /// <summary>A QoS 1/2 PUBLISH was answered (PUBACK, PUBCOMP, or a refusing PUBREC). Under the broker lock.</summary>
    void ReleaseIncoming();

    /// <summary>False while the client is not keeping up (too many bytes or deliveries waiting), so QoS 0 messages to it are dropped.</summary>
    bool AcceptsQoS0 { get; }

    /// <summary>
    /// More bytes wait for the client than <see cref="BrokerOptions.OutputBackpressureBytes"/>, or more
    /// deliveries than <see cref="BrokerOptions.QueueBackpressureMessages"/>: publishers to it should pause.
    /// </summary>
    bool IsCongested { get; }

    /// <summary>
    /// Enough waits to be written to the client (<see cref="BrokerOptions.OutputBackpressureBytes"/>)
    /// that sending more queued deliveries now would only hold them in memory twice: they wait in
    /// the session's queue (where large payloads stay on disk), and the connection resumes them
    /// through <see cref="BrokerState.ResumeDeliveries"/> once its output has drained. Under the broker lock.
    /// </summary>
    bool HoldsBackDeliveries { get; }

    /// <summary>Wakes the publishers paused while the client was <see cref="IsCongested"/>; signalled by the side that drains it.</summary>
    ConsumerRelief Relief { get; }

    /// <summary>
    /// Something that waited for the client has gone out (a delivery left its queue): wakes the
    /// publishers paused for it if it keeps up again. Called by the side that drains.
    /// </summary>
    void OnDrained();

    /// <summary>
    /// Sends a PUBLISH of <paramref name="message"/> with <paramref name="payload"/> (the message's
    /// own, read back by the caller if it is paged out). Returns false when the packet exceeds the
    /// client's Maximum Packet Size; the message is then discarded as if it had been delivered
    /// (MQTT 5.0 §3.1.2.11.4).
    /// </summary>
    bool SendPublish(ApplicationMessage message, ReadOnlyMemory<byte> payload, QualityOfService qos, bool retain, bool dup, ushort packetIdentifier, uint[]? subscriptionIdentifiers, long nowUnixMs);

    /// <summary>Sends a control packet.</summary>
    /// <remarks>
    /// Not generic: control packets are classes, and a generic interface method is dispatched under
    /// NativeAOT through a hash lookup on every call (it showed in the profile of every PUBACK).
    /// </remarks>
    void Send(IMqttPacket packet);

    /// <summary>Ends the connection: an MQTT 5.0 client gets a DISCONNECT with <paramref name="reasonCode"/> first.</summary>
    void Disconnect(ReasonCode reasonCode, string? reasonString);
}

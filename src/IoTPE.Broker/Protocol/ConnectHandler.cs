using System.Text;
using IoTPE.Broker.Connections;
using IoTPE.Broker.Monitoring;
using IoTPE.Broker.Security;
using IoTPE.Broker.Sessions;
using IoTPE.Mqtt;
using Microsoft.Extensions.Logging;

namespace IoTPE.Broker.Protocol;

/// <summary>
/// CONNECT and CONNACK (MQTT 5.0 §3.1, §3.2; 3.1.1 §3.1, §3.2): validates the request,
/// authenticates it outside the broker lock, then under the lock takes over or resumes the session,
/// answers CONNACK and resends what was in flight.
/// </summary>
internal sealed class ConnectHandler
{
    private readonly BrokerState _state;
    private readonly IAuthenticator _authenticator;
    private readonly SessionRegistry _sessions;
    private readonly SessionAttacher _attacher;

    public ConnectHandler(BrokerState state, IAuthenticator authenticator, SessionRegistry sessions, SessionAttacher attacher)
    {
        _state = state;
        _authenticator = authenticator;
        _sessions = sessions;
        _attacher = attacher;
    }

    /// <summary>Handles the first packet of a connection. Returns false when the connection is refused.</summary>
    public async ValueTask<bool> HandleAsync(NetworkConnection connection, PacketFrame frame)
    {
        if (!ConnectPacket.TryDecode(frame, out ConnectPacket? connect, out MqttDecodeError error, out byte protocolLevel))
        {
            if (error.ReasonCode == ReasonCode.UnsupportedProtocolVersion)
            {
                // §3.1.2.2: answer in the version the client speaks, if we can tell.
                connection.Speak(protocolLevel == 5 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311);
                Refuse(connection, "(unknown)", ReasonCode.UnsupportedProtocolVersion, $"protocol level {protocolLevel} is not supported");
            }
            else
            {
                connection.Speak(protocolLevel == 5 ? MqttProtocolVersion.V500 : MqttProtocolVersion.V311);
                Refuse(connection, "(unknown)", error.ReasonCode, error.Message, sendConnAck: protocolLevel == 5);
            }
            return false;
        }
        connection.Speak(connect.ProtocolVersion);
        bool v5 = connect.ProtocolVersion == MqttProtocolVersion.V500;

        string clientId = connect.ClientIdentifier;
        bool assigned = false;
        if (clientId.Length == 0)
        {
            if (!v5 && !connect.CleanSession)
            {
                // 3.1.1 §3.1.3-8: a zero-length id needs CleanSession=1.
                Refuse(connection, clientId, ReasonCode.ClientIdentifierNotValid, "empty client identifier with CleanSession=0");
                return false;
            }
            clientId = "iotpe-" + Guid.NewGuid().ToString("N");
            assigned = true;
        }
        if (clientId.StartsWith(ClientIdentity.InternalClientIdPrefix, StringComparison.Ordinal))
        {
            Refuse(connection, clientId, ReasonCode.ClientIdentifierNotValid, $"client identifiers starting with {ClientIdentity.InternalClientIdPrefix} are reserved for the broker's own clients");
            return false;
        }
        if (Encoding.UTF8.GetByteCount(clientId) > _state.Options.MaxClientIdLength)
        {
            Refuse(connection, clientId, ReasonCode.ClientIdentifierNotValid, $"client identifier longer than {_state.Options.MaxClientIdLength} bytes");
            return false;
        }
        if (!v5 && (connect.KeepAlive > _state.Options.MaxKeepAlive || (connect.KeepAlive == 0 && _state.Options.MaxKeepAlive < ushort.MaxValue)))
        {
            // 3.1.1 has no Server Keep Alive; like Mosquitto's max_keepalive, refuse the client.
            Refuse(connection, clientId, ReasonCode.ClientIdentifierNotValid, $"keep alive {connect.KeepAlive} s is above the maximum of {_state.Options.MaxKeepAlive} s");
            return false;
        }
        if (connect.AuthenticationMethod is not null)
        {
            Refuse(connection, clientId, ReasonCode.BadAuthenticationMethod, $"authentication method '{connect.AuthenticationMethod}' is not supported");
            return false;
        }

        AuthenticationResult result;
        try
        {
            result = await _authenticator.AuthenticateAsync(
                new AuthenticationRequest(clientId, connect.UserName, connect.Password, connection.RemoteEndPoint, connection.Listener, connection.Transport.ClientCertificate),
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            result = AuthenticationResult.Refuse(ReasonCode.ServerUnavailable, "authentication failed: " + e.Message);
        }
        if (!result.Succeeded)
        {
            Refuse(connection, clientId, result.ReasonCode, result.Reason ?? "authentication failed");
            return false;
        }
        if (result.UserName is { } account && !SessionKey.IsValidScope(account))
        {
            Refuse(connection, clientId, ReasonCode.NotAuthorized, "the authenticated user name cannot scope client identifiers (empty, starting with '$' or containing ':')");
            return false;
        }

        _state.Lock.Enter();
        try
        {
            return Attach(connection, connect, clientId, assigned, result.UserName);
        }
        finally
        {
            _state.EndPassAndUnlock();
        }
    }

    private bool Attach(NetworkConnection connection, ConnectPacket connect, string clientId, bool assigned, string? userName)
    {
        bool v5 = connect.ProtocolVersion == MqttProtocolVersion.V500;
        var identity = new ClientIdentity(clientId, userName, connection.RemoteEndPoint, connection.Listener);

        ApplicationMessage? will = null;
        if (connect.Will is { } w)
        {
            if (TopicName.IsDollarTopic(w.Topic) || !_state.Authorizer.CanPublish(identity, w.Topic))
            {
                RefuseUnderLock(connection, clientId, ReasonCode.NotAuthorized, $"not authorized to publish the will to '{w.Topic}'");
                return false;
            }
            if (w.QoS > _state.Options.MaximumQoS)
            {
                RefuseUnderLock(connection, clientId, ReasonCode.QoSNotSupported, "will QoS above the server's Maximum QoS");
                return false;
            }
            will = new ApplicationMessage(w.Topic, w.Payload.ToArray(), w.QoS, w.Retain, WillProperties(w))
            {
                PublisherClientId = clientId,
                PublisherUserName = userName,
            };
        }

        // Client identifiers are scoped per account (SessionKey): the same identifier used by
        // another account, or by an anonymous client, is another session, which this connection
        // can neither take over nor read.
        var terms = new SessionTerms(connect.CleanStart, connect.ProtocolVersion, _sessions.GrantedExpiry(connect),
            will is null ? null : new SessionWill(will, connect.Will!.WillDelayInterval ?? 0, connect.Will.MessageExpiryInterval));
        Session session = _attacher.Attach(connection, SessionKey.For(identity), identity, terms, out bool sessionPresent);

        ushort keepAlive = connect.KeepAlive;
        ushort? serverKeepAlive = null;
        if (v5 && _state.Options.MaxKeepAlive < ushort.MaxValue && (keepAlive == 0 || keepAlive > _state.Options.MaxKeepAlive))
        {
            keepAlive = _state.Options.MaxKeepAlive;
            serverKeepAlive = keepAlive;
        }
        connection.AcceptTerms(
            keepAliveSeconds: keepAlive,
            sendWindow: Math.Min(v5 ? connect.ReceiveMaximum ?? ushort.MaxValue : _state.Options.MaxInflightMessages, _state.Options.MaxInflightMessages),
            clientMaximumPacketSize: v5 ? connect.MaximumPacketSize ?? 0 : 0,
            clientTopicAliasMaximum: v5 ? connect.TopicAliasMaximum ?? 0 : (ushort)0);

        if (v5)
        {
            uint requestedExpiry = connect.SessionExpiryInterval ?? 0;
            connection.Send(new ConnAckPacket(ReasonCode.Success, sessionPresent)
            {
                SessionExpiryInterval = session.ExpiryIntervalSeconds != requestedExpiry ? session.ExpiryIntervalSeconds : null,
                ReceiveMaximum = _state.Options.ReceiveMaximum,
                MaximumQoS = _state.Options.MaximumQoS < QualityOfService.ExactlyOnce ? _state.Options.MaximumQoS : null,
                RetainAvailable = _state.Options.RetainAvailable ? null : false,
                MaximumPacketSize = (uint)_state.Options.MaximumPacketSize,
                AssignedClientIdentifier = assigned ? clientId : null,
                TopicAliasMaximum = _state.Options.TopicAliasMaximum,
                ServerKeepAlive = serverKeepAlive,
            });
        }
        else
        {
            connection.Send(new ConnAckPacket(ConnectReturnCode.Accepted, sessionPresent));
        }

        _state.Counters.ClientsConnected++;
        _state.Counters.ClientsMaximum = Math.Max(_state.Counters.ClientsMaximum, _state.Counters.ClientsConnected);
        _state.Log.ClientConnected(clientId, connection.RemoteEndPoint, userName ?? "(anonymous)", VersionName(connect.ProtocolVersion),
            connect.CleanStart ? "clean start" : "resume", sessionPresent ? "session present" : "new session");
        _attacher.Resume(session);
        return true;
    }

    private void Refuse(NetworkConnection connection, string clientId, ReasonCode reason, string text, bool sendConnAck = true)
    {
        _state.Lock.Enter();
        try
        {
            RefuseUnderLock(connection, clientId, reason, text, sendConnAck);
        }
        finally
        {
            _state.EndPassAndUnlock();
        }
    }

    /// <summary>Answers CONNACK with the refusal (5.0 reason code, or 3.1.1 return code) and closes once it is sent.</summary>
    private void RefuseUnderLock(NetworkConnection connection, string clientId, ReasonCode reason, string text, bool sendConnAck = true)
    {
        _state.Log.ConnectionRefused(connection.RemoteEndPoint, clientId, reason, text);
        _state.Counters.ConnectionsRefused++;
        if (sendConnAck)
        {
            if (connection.ProtocolVersion == MqttProtocolVersion.V500)
            {
                connection.Send(new ConnAckPacket(reason) { ReasonString = text });
            }
            else
            {
                connection.Send(new ConnAckPacket(ConnAckPacket.ToConnectReturnCode(reason)));
            }
        }
        connection.CloseAfterFlush();
    }

    private static PublishProperties? WillProperties(WillMessage will)
    {
        if (will.PayloadFormatIndicator is null && will.ContentType is null && will.ResponseTopic is null &&
            will.CorrelationData is null && will.UserProperties.Count == 0)
        {
            return null;
        }
        return new PublishProperties
        {
            PayloadFormatIndicator = will.PayloadFormatIndicator,
            ContentType = will.ContentType,
            ResponseTopic = will.ResponseTopic,
            CorrelationData = will.CorrelationData,
            UserProperties = will.UserProperties,
        };
    }

    internal static string VersionName(MqttProtocolVersion version) => version switch
    {
        MqttProtocolVersion.V500 => "5.0",
        MqttProtocolVersion.V311 => "3.1.1",
        _ => "3.1",
    };
}
